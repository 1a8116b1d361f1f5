"""How Styx runs one instance of a workflow: the container's arguments and environment, the
deadline, and what its exit code makes Styx do. Pure values, read off Styx's scheduler source
(`DockerRunnerHandler`/`HandlerUtil.argsReplace`, `ExecutionDescriptionHandler`,
`KubernetesDockerRunner.buildEnv`, `TerminationHandler`), so that `tingle run-workflow` runs a
workflow's container locally exactly as Styx would.

- Arguments: the workflow's `docker_args`, each element that is exactly `{}` replaced by the
  instance's parameter (the partition). `--date={}` stays as written: Styx replaces whole elements
  only (`Collections.replaceAll(args, "{}", parameter)`).
- Environment: the workflow's `env`, then the trigger's (`--env` here) over it, then Styx's own
  `STYX_*` variables over both, so a workflow cannot fake them.
- Exit codes: 0 done; 20 a missing dependency, retried 10 minutes later; 50 failed, never retried;
  anything else failed, retried with exponential backoff (while `retry_condition` allows).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from tingle.deploy.workflow import Workflow

PARAMETER_PLACEHOLDER = "{}"
TERMINATION_LOG = "/dev/termination-log"
# Where Styx mounts a workflow's service-account key (a Kubernetes secret volume), and the variable
# that points Google's client libraries at it.
SERVICE_ACCOUNT_KEY_DIR = "/etc/styx-wf-sa-keys"
SERVICE_ACCOUNT_KEY_PATH = f"{SERVICE_ACCOUNT_KEY_DIR}/styx-wf-sa.json"
CREDENTIALS_VARIABLE = "GOOGLE_APPLICATION_CREDENTIALS"
ADHOC_TRIGGER = "adhoc"  # TriggerUtil's name for a trigger made by hand (not natural, no backfill)

DONE = 0
MISSING_DEPENDENCY = 20
FAIL_FAST = 50
MISSING_DEPENDENCY_RETRY_MINUTES = 10

_DURATION = re.compile(
    r"P(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Instance:
    """One run of a workflow: which, for which parameter, and the facts Styx would know."""

    component_id: str
    workflow: Workflow
    parameter: str  # the partition: 2026-12-07 for a daily workflow, 2026-12-07T13 hourly
    image: str
    execution_id: str  # Styx: styx-run-<uuid>
    trigger_id: str
    commit_sha: str = ""
    environment: str = "local"  # Styx's own environment name (production, staging...)
    tries: int = 0  # earlier tries of this instance: 0 on the first


def docker_args(workflow: Workflow, parameter: str) -> tuple[str, ...]:
    return tuple(
        parameter if arg == PARAMETER_PLACEHOLDER else arg for arg in workflow.docker_args or ()
    )


def execution_env(
    instance: Instance, trigger_env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The container's environment, in Styx's order of precedence (see the module's notes)."""
    env = dict(instance.workflow.env)
    env.update(trigger_env or {})
    env.update(styx_variables(instance))
    return env


def styx_variables(instance: Instance) -> dict[str, str]:
    workflow = instance.workflow
    return {
        "STYX_COMPONENT_ID": instance.component_id,
        "STYX_WORKFLOW_ID": workflow.id,
        "STYX_PARAMETER": instance.parameter,
        "STYX_COMMIT_SHA": instance.commit_sha,
        "STYX_SERVICE_ACCOUNT": workflow.service_account or "",
        "STYX_DOCKER_ARGS": " ".join(docker_args(workflow, instance.parameter)),
        "STYX_DOCKER_IMAGE": instance.image,
        "STYX_EXECUTION_ID": instance.execution_id,
        "STYX_TERMINATION_LOG": TERMINATION_LOG,
        "STYX_TRIGGER_ID": instance.trigger_id,
        "STYX_TRIGGER_TYPE": ADHOC_TRIGGER,
        "STYX_ENVIRONMENT": instance.environment,
        "STYX_LOGGING": "structured",
        "STYX_EXECUTION_TRIES": str(instance.tries),
    }


def duration_seconds(duration: str) -> float:
    """An ISO-8601 duration as Java's `Duration.parse` reads it (`PnDTnHnMn.nS`) in seconds;
    ValueError for anything else (weeks, months and years are not durations to Java)."""
    found = _DURATION.fullmatch(duration.strip())
    if found is None or not any(found.groupdict().values()) or duration.upper().endswith("T"):
        raise ValueError(f"'{duration}' is not an ISO-8601 duration such as PT2H or P1DT30M")
    parts = {name: float(value or 0) for name, value in found.groupdict().items()}
    return parts["days"] * 86400 + parts["hours"] * 3600 + parts["minutes"] * 60 + parts["seconds"]


def exit_meaning(exit_code: int, retry_condition: str | None = None) -> str:
    """What Styx makes of a container's exit code, in one line."""
    if exit_code == DONE:
        return "exit 0: done (Styx marks the instance successful)"
    if exit_code == FAIL_FAST:
        return "exit 50: failed, no retry (Styx stops the instance)"
    unless = f" while retry_condition `{retry_condition}` holds" if retry_condition else ""
    if exit_code == MISSING_DEPENDENCY:
        minutes = MISSING_DEPENDENCY_RETRY_MINUTES
        return f"exit 20: missing dependency (Styx retries in {minutes} minutes{unless})"
    return f"exit {exit_code}: failed (Styx retries with backoff{unless})"


def timeout_meaning(running_timeout: str) -> str:
    return (
        f"timed out: running longer than running_timeout {running_timeout} "
        f"(Styx stops it and retries with backoff)"
    )
