"""A workflow to schedule, as data-info.yaml describes it: what every scheduler client takes."""

from __future__ import annotations

from dataclasses import dataclass

WORKFLOW_KEYS = (
    "id", "schedule", "offset", "service_account", "docker_args", "docker_termination_logging",
    "env", "resources", "running_timeout", "retry_condition",
)  # fmt: skip


@dataclass(frozen=True)
class Workflow:
    id: str
    schedule: str  # hourly, daily, weekly, monthly, yearly, @daily, days..., or 5-field cron (UTC)
    offset: str | None = None  # ISO-8601 duration
    service_account: str | None = None  # an email
    docker_args: tuple[str, ...] | None = (
        None  # an element exactly "{}" becomes the run's parameter
    )
    docker_termination_logging: bool | None = None
    env: tuple[tuple[str, str], ...] = ()
    resources: tuple[str, ...] = ()
    running_timeout: str | None = None  # ISO-8601 duration
    retry_condition: str | None = None


@dataclass(frozen=True)
class Release:
    """What a deploy pins every workflow to."""

    image: str  # `registry/repo@sha256:...`, never a tag: a tag can move
    commit_sha: str
    repository: str  # "owner/name", recorded as the workflow's deployment source
