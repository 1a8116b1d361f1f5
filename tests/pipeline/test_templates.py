"""Shipped templates load cleanly, and a broken template fails loading with every problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline.helpers import template_set
from tingle.pipeline import PipelineError, load_templates

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("dataPipeline", "docker", "python", "scioPipeline")


def test_shipped_templates_load() -> None:
    templates = load_templates(ROOT / "templates", agents_dir=ROOT / "does-not-exist")
    assert set(SHIPPED) <= set(templates.names())
    for name in SHIPPED:
        template = templates.get(name)
        assert template is not None and template.description
        assert all(param.description for param in template.params.values())


def test_shipped_templates_name_existing_agents() -> None:
    # Agents are how templates run commands: a default agent missing from agents/ breaks every
    # repository using that template. Only meaningful once agents/ holds agent folders.
    agents = {path.parent.name for path in (ROOT / "agents").glob("*/Dockerfile")}
    if not agents:
        pytest.skip("agents/ holds no agent yet")
    templates = load_templates(ROOT / "templates")
    for template in templates.templates.values():
        default = template.params.get("agent")
        if default is not None:
            assert default.default in agents, f"{template.name}: agent '{default.default}'"


def test_agents_are_read_from_folders_with_a_dockerfile(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    for name in ("python", "sbt"):
        (tmp_path / "agents" / name).mkdir(parents=True)
        (tmp_path / "agents" / name / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "agents" / "notes").mkdir()
    assert load_templates(tmp_path / "templates").agents == frozenset({"python", "sbt"})


BROKEN = """\
description: broken on purpose
params:
  python:
    type: str
    description: version
  count:
    type: integer
    default: many
    description: how many
  type:
    type: string
    description: reserved
steps:
  - name: test
    agent: ${{ params.pyhton }}
    commands: ["pytest ${{ params.python }}"]
  - name: test
    image: alpine
    commands: [true]
"""


def test_broken_template_lists_every_problem(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "broken.yaml").write_text(BROKEN)
    with pytest.raises(PipelineError) as caught:
        load_templates(tmp_path / "templates")
    assert [str(p) for p in caught.value.problems] == [
        "templates/broken.yaml:4:11 params.python.type: unknown value 'str'"
        " (did you mean 'string'?); expected one of boolean, integer, string",
        "templates/broken.yaml:8:14 params.count.default: expected an integer, got a string",
        "templates/broken.yaml:10:3 params: invalid parameter name 'type'",
        "templates/broken.yaml:15:12 steps[0].agent: unknown expression 'params.pyhton'",
        "templates/broken.yaml:16:16 steps[0].commands[0]: ${{ }} is not expanded in commands;"
        " pass the value through env instead",
        "templates/broken.yaml:17:11 steps[1].name: duplicate step name 'test'",
        "templates/broken.yaml:19:16 steps[1].commands[0]: expected a string, got a boolean",
    ]
    assert caught.value.problems[0].file == "templates/broken.yaml"


def test_template_agent_is_checked_when_agents_are_known() -> None:
    text = "description: d\nsteps:\n  - name: t\n    agent: pyhton\n    commands: [x]\n"
    with pytest.raises(PipelineError) as caught:
        template_set(frozenset({"python"}), mine=text)
    assert [str(p) for p in caught.value.problems] == [
        "templates/mine.yaml:4:12 steps[0].agent: unknown agent 'pyhton' (did you mean 'python'?)"
    ]


def test_only_yaml_files_in_the_folder_are_templates(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(
        "description: d\nsteps: [{name: a, image: b, commands: [c]}]\n"
    )
    (tmp_path / "README.md").write_text("not a template")
    assert load_templates(tmp_path).names() == ("ok",)
