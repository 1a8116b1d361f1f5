"""Starting, superseding, cancelling and restarting builds: what the web app (webhooks, buttons)
asks of the queue. The worker honours a cancel through arq's abort and the `cancel:{id}` key."""

from __future__ import annotations

import time
from typing import Protocol

import structlog
from arq.connections import ArqRedis
from arq.constants import abort_jobs_ss

from tingle.build import Build, BuildState
from tingle.builds.admission import Admission, Admitter
from tingle.builds.notices import BuildNotices
from tingle.forge.events import LaneClosed
from tingle.queue import enqueue_build, job_id
from tingle.settings import Settings
from tingle.store import BuildStore, CancelRequest

log = structlog.get_logger(__name__)


class Services(Protocol):
    """What control needs; the web app's AppState has it."""

    settings: Settings
    queue: ArqRedis
    store: BuildStore
    notices: BuildNotices
    admitter: Admitter


async def queue_build(
    services: Services, build: Build, delivery_id: str | None, event_key: str | None = None
) -> tuple[Admission, list[str]]:
    """Store and enqueue a new build (its id is set here), unless the delivery (or the same
    event, `event_key`: tingle.builds.replays) made one already. Returns the admission and the
    older builds of its branch or pull request it supersedes (to cancel with `supersede`, off the
    webhook's path)."""
    if build.is_fork and services.settings.hold_forks:
        build.hold()  # nothing runs a stranger's code until someone approves
    admission = await services.admitter.admit(build, delivery_id, event_key)
    supersedes = admission.created and services.settings.supersedes(build.repo)
    return admission, admission.older if supersedes else []


async def publish_status(services: Services, build: Build) -> None:
    """A worker publishes the build's feedback (the web app makes no GitHub call)."""
    await services.notices.tell(build.id)


async def supersede(services: Services, build: Build, older: list[str]) -> None:
    for old_id in older:
        await cancel_build(services, old_id, f"superseded by #{build.id}", superseded_by=build.id)


async def close_lane(services: Services, closed: LaneClosed) -> int:
    """A branch was deleted or a pull request closed: cancel its unfinished builds."""
    store = services.store
    lane = store.lane_of(closed.repo, pr_number=closed.pr_number, branch=closed.branch)
    cancelled = 0
    for build_id in await store.unfinished_lane_builds(lane):
        cancelled += await cancel_build(services, build_id, closed.reason)
    return cancelled


async def cancel_build(
    services: Services,
    build_id: str,
    reason: str = "cancelled",
    *,
    superseded_by: str | None = None,
    by: str | None = None,
) -> bool:
    """Cancel a queued or running build (`by` someone, when a person asked). False when there
    is nothing to cancel."""
    build = await services.store.get(build_id)
    if build is None or build.state.terminal:
        return False
    request = CancelRequest(reason, superseded_by, by)
    if not await services.store.request_cancel(build_id, request):
        return False  # asked already: the first reason stands
    await services.queue.zadd(abort_jobs_ss, {job_id(build_id): int(time.time() * 1000)})
    if build.state in (BuildState.QUEUED, BuildState.HELD):  # no worker has it: end it here
        build.cancel(reason, superseded_by, by)
        await services.store.save(build)
        await publish_status(services, build)
    log.info("build cancel requested", build_id=build_id, reason=reason)
    return True


async def approve_build(services: Services, build_id: str, who: str = "a maintainer") -> bool:
    """Let a held build (a fork's pull request) run. False when it is not held."""
    build = await services.store.get(build_id)
    if build is None or not build.approve(who):
        return False
    await services.store.save(build)
    await enqueue_build(services.queue, build.id, services.settings.queue_name)
    await publish_status(services, build)
    log.info("held build approved", build_id=build_id, by=who)
    return True


async def restart_build(services: Services, build_id: str) -> str:
    """Queue the same commit again as a new build; returns the new build's id.

    The new build is admitted as a webhook's is (`queue_build`), so a fork's pull request is held
    again for approval. A held original ends: the new build takes its place."""
    old = await services.store.get(build_id)
    if old is None:
        raise KeyError(build_id)
    new = old.restarted()
    await queue_build(services, new, delivery_id=None)  # restarting supersedes nothing
    if old.state is BuildState.HELD:
        await cancel_build(services, old.id, f"restarted as #{new.id}")
    log.info("build restarted", build_id=new.id, restarted=build_id, held=new.state.value)
    return new.id
