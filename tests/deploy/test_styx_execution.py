"""How Styx runs an instance (tingle.deploy.styx_execution), pinned to what Styx's scheduler does:
whole `{}` elements replaced, its variables over everyone's, its exit codes' meanings."""

from __future__ import annotations

import pytest

from tingle.deploy import Workflow
from tingle.deploy.styx_execution import (
    Instance,
    docker_args,
    duration_seconds,
    execution_env,
    exit_meaning,
    styx_variables,
)

# The names KubernetesDockerRunner.buildEnv sets, no more, no fewer.
STYX_NAMES = {
    "STYX_COMPONENT_ID", "STYX_WORKFLOW_ID", "STYX_PARAMETER", "STYX_COMMIT_SHA",
    "STYX_SERVICE_ACCOUNT", "STYX_DOCKER_ARGS", "STYX_DOCKER_IMAGE", "STYX_EXECUTION_ID",
    "STYX_TERMINATION_LOG", "STYX_TRIGGER_ID", "STYX_TRIGGER_TYPE", "STYX_ENVIRONMENT",
    "STYX_LOGGING", "STYX_EXECUTION_TRIES",
}  # fmt: skip


def instance(workflow: Workflow, parameter: str = "2026-12-07") -> Instance:
    return Instance(
        component_id="acme--reports",
        workflow=workflow,
        parameter=parameter,
        image="reports:dev",
        execution_id="styx-run-1",
        trigger_id="manual-1",
        commit_sha="c0ffee",
    )


def test_only_elements_that_are_exactly_braces_become_the_parameter() -> None:
    workflow = Workflow("w", "daily", docker_args=("run", "{}", "--date={}", "{}{}", " {}", "{}"))
    assert docker_args(workflow, "2026-12-07") == (
        "run", "2026-12-07", "--date={}", "{}{}", " {}", "2026-12-07",
    )  # fmt: skip


def test_no_docker_args_means_no_arguments() -> None:
    assert docker_args(Workflow("w", "daily"), "2026-12-07") == ()


def test_a_parameter_with_shell_syntax_is_one_argument_as_written() -> None:
    workflow = Workflow("w", "daily", docker_args=("{}",))
    assert docker_args(workflow, "$(rm -rf /); `id` 'x'") == ("$(rm -rf /); `id` 'x'",)


def test_styx_sets_its_variables_from_the_instance() -> None:
    workflow = Workflow(
        "daily-report", "daily", docker_args=("report", "{}"), service_account="sa@p.iam"
    )
    variables = styx_variables(instance(workflow))
    assert set(variables) == STYX_NAMES
    assert variables["STYX_COMPONENT_ID"] == "acme--reports"
    assert variables["STYX_WORKFLOW_ID"] == "daily-report"
    assert variables["STYX_PARAMETER"] == "2026-12-07"
    assert variables["STYX_DOCKER_ARGS"] == "report 2026-12-07"
    assert variables["STYX_SERVICE_ACCOUNT"] == "sa@p.iam"
    assert variables["STYX_TRIGGER_TYPE"] == "adhoc"
    assert variables["STYX_EXECUTION_TRIES"] == "0"
    assert variables["STYX_TERMINATION_LOG"] == "/dev/termination-log"


def test_without_a_service_account_its_variable_is_empty_not_absent() -> None:
    assert styx_variables(instance(Workflow("w", "daily")))["STYX_SERVICE_ACCOUNT"] == ""


def test_the_trigger_env_overrides_the_workflow_env_and_styx_overrides_both() -> None:
    workflow = Workflow(
        "w", "daily", env=(("MODE", "full"), ("REGION", "eu"), ("STYX_PARAMETER", "forged"))
    )
    env = execution_env(instance(workflow), {"MODE": "backfill", "STYX_WORKFLOW_ID": "other"})
    assert env["MODE"] == "backfill"
    assert env["REGION"] == "eu"
    assert env["STYX_PARAMETER"] == "2026-12-07"
    assert env["STYX_WORKFLOW_ID"] == "w"


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [("PT2H", 7200), ("pt30m", 1800), ("PT1.5S", 1.5), ("P1DT1H1M1S", 90061), ("P2D", 172800)],
)
def test_durations_read_as_java_reads_them(duration: str, seconds: float) -> None:
    assert duration_seconds(duration) == seconds


@pytest.mark.parametrize("duration", ["P", "PT", "P1DT", "P1W", "P1M", "PT-1S", "2H", "PT1H30"])
def test_durations_java_refuses_are_refused(duration: str) -> None:
    with pytest.raises(ValueError, match="not an ISO-8601 duration"):
        duration_seconds(duration)


@pytest.mark.parametrize(
    ("code", "meaning"),
    [
        (0, "exit 0: done (Styx marks the instance successful)"),
        (20, "exit 20: missing dependency (Styx retries in 10 minutes)"),
        (50, "exit 50: failed, no retry (Styx stops the instance)"),
        (1, "exit 1: failed (Styx retries with backoff)"),
        (137, "exit 137: failed (Styx retries with backoff)"),
    ],
)
def test_each_exit_code_has_its_styx_meaning(code: int, meaning: str) -> None:
    assert exit_meaning(code) == meaning


def test_a_retry_condition_is_named_where_it_decides() -> None:
    assert exit_meaning(3, "tries < 3").endswith("backoff while retry_condition `tries < 3` holds)")
    assert "retry_condition" not in exit_meaning(50, "tries < 3")
    assert "retry_condition" not in exit_meaning(0, "tries < 3")
