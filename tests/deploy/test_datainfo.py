"""data-info.yaml: the workflows a repository deploys; every problem with its field path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tingle.deploy import DataInfoError, Workflow, load_data_info, parse_data_info

FULL = """
owner: data-team            # other keys are someone else's business
facts:
  workflows:
    - id: daily-report
      schedule: daily
      offset: PT2H
      docker_args: [report, --date, "{}", 3]
      service_account: reports@acme.iam.gserviceaccount.com
      env: {MODE: full, RETRIES: 3}
      resources: [bigquery]
      running_timeout: PT1H
      retry_condition: "#tries < 3"
      docker_termination_logging: true
    - id: hourly.sync_2
      schedule: "0 * * * *"
      running_timeout: 600
"""


def test_every_field() -> None:
    info = parse_data_info(FULL)
    assert info.workflows == (
        Workflow(
            id="daily-report",
            schedule="daily",
            offset="PT2H",
            service_account="reports@acme.iam.gserviceaccount.com",
            docker_args=("report", "--date", "{}", "3"),
            docker_termination_logging=True,
            env=(("MODE", "full"), ("RETRIES", "3")),
            resources=("bigquery",),
            running_timeout="PT1H",
            retry_condition="#tries < 3",
        ),
        Workflow(id="hourly.sync_2", schedule="0 * * * *", running_timeout="PT600S"),
    )
    assert info.ids() == ("daily-report", "hourly.sync_2")


def test_an_empty_list_is_allowed() -> None:
    assert parse_data_info("facts: {workflows: []}").workflows == ()


def problems(text: str) -> list[str]:
    with pytest.raises(DataInfoError) as caught:
        parse_data_info(text)
    return caught.value.problems


def test_every_problem_at_once_with_field_paths() -> None:
    text = """
facts:
  workflows:
    - id: ok
      schedule: daily
    - schedule: daily
      schedual: weekly
    - id: bad id!
      docker_args: run
      env: {1BAD: x, GOOD: [1], FLAG: yes}
      running_timeout: two hours
      docker_termination_logging: "yes"
    - id: ok
      schedule: ""
      resources: [1.5, {a: b}]
    - just a string
"""
    assert problems(text) == [
        "facts.workflows[1].schedual: unknown key (did you mean 'schedule'?)",
        "facts.workflows[1].id: required",
        "facts.workflows[2].id: use letters, digits, '.', '_' and '-' (at most 256 characters)",
        "facts.workflows[2].schedule: required",
        "facts.workflows[2].docker_args: expected a list of strings, got a string",
        "facts.workflows[2].docker_termination_logging: expected true or false, got a string",
        "facts.workflows[2].env.1BAD: not a valid environment variable name",
        "facts.workflows[2].env.GOOD: expected a string, got a list (quote it)",
        "facts.workflows[2].env.FLAG: expected a string, got a boolean (quote it)",
        "facts.workflows[2].running_timeout: expected an ISO-8601 duration such as PT2H, or "
        "seconds, got 'two hours'",
        "facts.workflows[3].schedule: expected a non-empty string, got a string",
        "facts.workflows[3].resources[1]: expected a string, got a mapping",
        "facts.workflows[4]: expected a mapping, got a string",
    ]


def test_duplicate_ids() -> None:
    text = "facts: {workflows: [{id: a, schedule: daily}, {id: a, schedule: hourly}]}"
    assert problems(text) == ["facts.workflows[1].id: duplicate id 'a' (also facts.workflows[0])"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "expected a mapping with 'facts', got nothing"),
        ("- a", "expected a mapping with 'facts', got a list"),
        ("owner: x", "facts: required"),
        ("facts: 3", "facts: expected a mapping, got a number"),
        ("facts: {}", "facts.workflows: required"),
        ("facts: {workflows: {id: a}}", "facts.workflows: expected a list, got a mapping"),
        ("facts: [unclosed", "line 1: not valid YAML (ParserError)"),
    ],
)
def test_shape_problems(text: str, problem: str) -> None:
    assert problems(text) == [problem]


def test_the_message_names_the_file() -> None:
    with pytest.raises(DataInfoError, match=r"^pipelines.yaml: facts: required$"):
        parse_data_info("{}", "pipelines.yaml")


def test_load_from_a_workspace(tmp_path: Path) -> None:
    (tmp_path / "data-info.yaml").write_text(FULL)
    assert len(load_data_info(tmp_path, "data-info.yaml").workflows) == 2
    with pytest.raises(match=r"other\.yaml: not found in this commit"):
        load_data_info(tmp_path, "other.yaml")
    with pytest.raises(match="outside the repository"):
        load_data_info(tmp_path, "../../etc/passwd")
    (tmp_path / "bad.yaml").write_text("facts: {}")
    with pytest.raises(match=r"bad\.yaml: facts\.workflows: required"):
        load_data_info(tmp_path, "bad.yaml")
