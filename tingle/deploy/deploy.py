"""Deploy a repository's workflows to a scheduler, pinned to the image the build just pushed.

1. List the component's workflows (to know which ones are new).
2. Create or update every workflow in data-info.yaml; enable the new ones (a redeploy never
   touches the flag, so a workflow a human disabled stays disabled).
3. Delete the component's workflows that data-info.yaml no longer lists, but only those Tingle
   deployed from this same repository: never one a human or another tool made.

The component is the repository's own (`default_component_id`: `acme/reports` → `acme--reports`),
and a listed workflow that another repository deployed (its `deployment_source.repository`) is
never updated: the deploy fails before any change, naming the repository it belongs to.

A deploy is never cancelled half-way (a workflow created but not enabled, or half the workflows on
the new image): `deploy` runs the work in its own task and, if its caller is cancelled, waits for
that task to finish before passing the cancellation on. Every scheduler call has a timeout, so the
wait is bounded. Nothing is deleted unless every create/update succeeded.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import structlog

from tingle.deploy.datainfo import DataInfo, DataInfoError, parse_data_info
from tingle.deploy.scheduler import (
    TINGLE_SOURCE,
    ScheduledWorkflow,
    Scheduler,
    SchedulerError,
)
from tingle.deploy.workflow import Release
from tingle.errors import DeliveryError
from tingle.workspace_files import UnsafeFile, read_workspace_file

LogLine = Callable[[str], Awaitable[None]]
_OWNER = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")  # GitHub's rule for users and orgs
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
T = TypeVar("T")
_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DeploySummary:
    scheduler: str
    component_id: str
    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    left_alone: tuple[str, ...] = ()  # not listed, but not ours to delete

    def describe(self) -> str:
        counts = {"created": self.created, "updated": self.updated, "deleted": self.deleted}
        done = ", ".join(f"{len(ids)} {verb}" for verb, ids in counts.items() if ids)
        return f"{self.scheduler} {self.component_id}: {done or 'nothing to do'}"


def load_data_info(workspace: Path, workflows_file: str) -> DataInfo:
    """The workspace's data-info.yaml, parsed; DeliveryError (with every problem) if unusable."""
    try:  # never through a symbolic link: it could point at any file of the host
        data = read_workspace_file(workspace, workflows_file)
    except UnsafeFile as exc:
        raise DeliveryError(str(exc)) from None
    except OSError as exc:
        raise DeliveryError(f"{workflows_file}: cannot be read: {exc.strerror}") from exc
    if data is None:
        raise DeliveryError(f"{workflows_file}: not found in this commit")
    try:
        return parse_data_info(data.decode("utf-8"), workflows_file)
    except UnicodeDecodeError as exc:
        raise DeliveryError(f"{workflows_file}: cannot be read: {exc}") from exc
    except DataInfoError as exc:
        raise DeliveryError(str(exc)) from exc


def default_component_id(repository: str) -> str:
    """The repository's component: owner and name joined by `--`, `acme/daily-reports` →
    `acme--daily-reports`. A repository may only touch its own component, so the mapping is
    one-to-one: GitHub owners are letters, digits and single inner hyphens, so the first `--` is
    always the boundary (`a-b/c` → `a-b--c`, `a/b-c` → `a--b-c`); any other owner is refused."""
    owner, slash, name = repository.partition("/")
    if not slash or not _OWNER.fullmatch(owner) or not _NAME.fullmatch(name):
        raise DeliveryError(f"'{repository}' is not a GitHub repository name: no component for it")
    return f"{owner}--{name}"


async def deploy(
    scheduler: Scheduler,
    data_info: DataInfo,
    release: Release,
    *,
    log: LogLine,
    component_id: str | None = None,
) -> DeploySummary:
    if "@sha256:" not in release.image:
        raise ValueError(f"deploy needs an image pinned by digest, got {release.image!r}")
    component = component_id or default_component_id(release.repository)
    work = asyncio.ensure_future(_deploy(scheduler, data_info, release, component, _Say(log)))
    return await finish_even_if_cancelled(work)


async def finish_even_if_cancelled(task: asyncio.Future[T]) -> T:
    """Await `task`; if the caller is cancelled meanwhile, keep waiting, then re-raise it."""
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.cancelled():
                cancelled = True  # our caller, not the task: let the task finish
        except Exception:
            pass  # the task failed: its exception is raised below
    if cancelled:
        if not task.cancelled():
            task.exception()  # retrieved: the outcome is in the deploy log
        raise asyncio.CancelledError
    return task.result()


class _Say:
    """The log callback, made harmless: a log that cannot be written must not stop a deploy."""

    def __init__(self, log: LogLine) -> None:
        self._log = log

    async def __call__(self, line: str) -> None:
        try:
            await self._log(line)
        except Exception:
            _log.warning("deploy log line lost", line=line, exc_info=True)


async def _refuse_foreign(
    info: DataInfo,
    existing: dict[str, ScheduledWorkflow],
    release: Release,
    component: str,
    say: _Say,
) -> None:
    """Nothing is updated when a listed workflow was deployed from another repository: it is not
    this repository's to replace (DeliveryError naming the owner, before any change)."""
    for workflow in info.workflows:
        found = existing.get(workflow.id)
        owner = found.repository if found is not None else None
        if owner is not None and owner != release.repository:
            message = (
                f"workflow {workflow.id} in component {component} was deployed from {owner}, "
                f"not {release.repository}: not updating it (it belongs to {owner})"
            )
            await say(message)
            raise DeliveryError(message)


async def _deploy(
    scheduler: Scheduler, info: DataInfo, release: Release, component: str, say: _Say
) -> DeploySummary:
    name = scheduler.name
    try:
        existing = {w.id: w for w in await scheduler.list_workflows(component)}
    except SchedulerError as exc:
        await say(f"{name}: could not list the workflows of {component}: {exc}")
        raise DeliveryError(str(exc), infrastructure=exc.infrastructure) from exc
    await say(
        f"{name}: component {component}: {len(info.workflows)} workflow(s) in data-info.yaml, "
        f"{len(existing)} deployed; image {release.image}"
    )
    await _refuse_foreign(info, existing, release, component, say)
    created: list[str] = []
    updated: list[str] = []
    for workflow in info.workflows:
        is_new = workflow.id not in existing
        try:
            await scheduler.put_workflow(component, workflow, release)
            if is_new:
                await say(f"{name}: created {workflow.id} ({workflow.schedule})")
                await scheduler.enable_workflow(component, workflow.id)
                await say(f"{name}: enabled {workflow.id}")
            else:
                await say(f"{name}: updated {workflow.id} ({workflow.schedule})")
        except SchedulerError as exc:
            await say(f"{name}: {workflow.id}: {exc}")
            raise DeliveryError(str(exc), infrastructure=exc.infrastructure) from exc
        (created if is_new else updated).append(workflow.id)
    listed = set(info.ids())
    deleted: list[str] = []
    left_alone: list[str] = []
    for workflow_id, found in existing.items():
        if workflow_id in listed:
            continue
        if found.source != TINGLE_SOURCE or found.repository != release.repository:
            left_alone.append(workflow_id)
            await say(f"{name}: left {workflow_id} alone: not deployed by Tingle from this repo")
            continue
        try:
            gone = await scheduler.delete_workflow(component, workflow_id)
        except SchedulerError as exc:
            await say(f"{name}: deleting {workflow_id}: {exc}")
            raise DeliveryError(str(exc), infrastructure=exc.infrastructure) from exc
        deleted.append(workflow_id)
        verb = "deleted" if gone else "already gone:"
        await say(f"{name}: {verb} {workflow_id} (no longer in data-info.yaml)")
    summary = DeploySummary(
        name, component, tuple(created), tuple(updated), tuple(deleted), tuple(left_alone)
    )
    await say(summary.describe())
    return summary
