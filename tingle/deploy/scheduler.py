"""The scheduler contract: what a deploy needs from any scheduler (Styx now; a Kubernetes CronJob
target could follow: list by a component label, apply a CronJob created suspended, unsuspend,
delete).

Four calls, all scoped to a component (a group of workflows; Tingle uses one per repository).
`put_workflow` creates or updates and must not change whether an existing workflow is enabled; a
new one may be stored disabled, and the deploy enables it with `enable_workflow`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tingle.deploy.workflow import Release, Workflow

TINGLE_SOURCE = "tingle"  # deployment_source.source of every workflow Tingle deploys


@dataclass(frozen=True)
class ScheduledWorkflow:
    """A workflow the scheduler has, as much as a deploy needs to know about it."""

    id: str
    source: str | None = None  # who deployed it ("tingle" for us), when the scheduler knows
    repository: str | None = None  # the repository it was deployed from, when known


class SchedulerError(Exception):
    """A scheduler call failed. The message is the scheduler's own, fit for a log and a status.

    `status` is the HTTP status when there was an answer. `infrastructure` tells the runner
    whether this is the service's fault (unreachable, 5xx, our credentials) rather than the
    repository's (an invalid workflow)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def infrastructure(self) -> bool:
        return self.status is None or self.status >= 500 or self.status in (401, 403)


class Scheduler(Protocol):
    name: str  # for log lines: "styx"

    async def list_workflows(self, component_id: str) -> list[ScheduledWorkflow]: ...

    async def put_workflow(self, component_id: str, workflow: Workflow, release: Release) -> None:
        """Create or update; an existing workflow keeps its enabled flag."""

    async def enable_workflow(self, component_id: str, workflow_id: str) -> None: ...

    async def delete_workflow(self, component_id: str, workflow_id: str) -> bool:
        """Delete; False when it was already gone."""
