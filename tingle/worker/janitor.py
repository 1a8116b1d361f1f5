"""Finds builds whose worker died (its heartbeat expired) and runs them again on a live worker, or
ends them in `error` after MAX_ATTEMPTS; removes containers, workspaces and secret files left
behind by dead workers.

Every worker runs the janitor; a per-build lock makes one of them act. A build is reaped only when
its heartbeat has been missing on two passes, so a short Redis outage never starts a second run of a
build whose worker is alive.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import structlog
from arq.connections import ArqRedis
from arq.constants import (
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
    retry_key_prefix,
)
from redis.exceptions import RedisError

from tingle.build import BuildState
from tingle.engine.cleanups import TRASH
from tingle.queue import enqueue_build, job_id
from tingle.secrets import remove_build_secrets
from tingle.worker.build_job import MAX_ATTEMPTS, RecordingEvents, WorkerContext

log = structlog.get_logger(__name__)


class Janitor:
    def __init__(self, app: WorkerContext, queue: ArqRedis) -> None:
        self._app = app
        self._queue = queue
        self._suspect: set[str] = set()  # looked lost on the last pass

    async def run_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except (RedisError, OSError) as exc:
                log.warning("janitor pass failed", error=str(exc))
            except Exception:  # a janitor that dies leaves lost builds lost: keep going
                log.exception("janitor pass crashed")
            await asyncio.sleep(self._app.settings.janitor_seconds)

    async def sweep(self) -> list[str]:
        """One pass over the unfinished builds; returns the ids it handed back or ended."""
        lost = {b for b in await self._app.store.active_builds() if await self._lost(b)}
        due, self._suspect = lost & self._suspect, lost
        reaped = [build_id for build_id in sorted(due) if await self._reap(build_id)]
        await self._remove_orphan_containers()
        await self._remove_abandoned_workspaces()
        await self._remove_abandoned_secrets()
        await self._keep_history_bounded()
        await self._app.feedback.publisher.sweep()  # feedback GitHub refused for a while
        return reaped

    async def _lost(self, build_id: str) -> bool:
        """Picked up or running without a heartbeat, or queued without an arq job to run it."""
        store = self._app.store
        build = await store.get(build_id)
        if build is None or build.state.terminal:
            await store.forget_active(build_id)
            return False
        if build.state is BuildState.HELD:  # waits for a person, not for a worker
            return False
        job = job_id(build_id)
        picked = bool(await self._queue.exists(in_progress_key_prefix + job))
        if build.state is BuildState.RUNNING or picked:  # a worker has it: is that one alive?
            return not await store.is_alive(build_id)
        return await self._queue.zscore(self._app.settings.queue_name, job) is None

    async def _reap(self, build_id: str) -> bool:
        store = self._app.store
        lock = store.redis.lock(store.key("reap", build_id), timeout=60)
        if not await lock.acquire(blocking=False):
            return False
        try:
            if not await self._lost(build_id):  # looked again under the lock
                return False
            build = await store.get(build_id)
            assert build is not None
            events = RecordingEvents(self._app)
            await store.delete_logs(build.id, len(build.steps))
            cancel = await store.cancel_request(build_id)
            if cancel is None and build.attempts < MAX_ATTEMPTS:
                lost = build.worker
                running = build.state is BuildState.RUNNING
                build.hand_back(
                    f"worker {lost} stopped answering; running again" if running else build.reason
                )
                await events.changed(build)
                await self._requeue(build_id)
                log.warning("build handed back by the janitor", build_id=build_id, worker=lost)
            else:
                if cancel:
                    reason = cancel.reason
                    build.cancel(reason, cancel.superseded_by, cancel.by)
                else:
                    reason = f"its worker died {build.attempts} times; giving up"
                    build.finish(BuildState.ERROR, reason)
                await events.changed(build)
                await self._forget_job(build_id)
                log.error("build ended by the janitor", build_id=build_id, reason=reason)
            return True
        finally:
            with contextlib.suppress(RedisError):
                await lock.release()

    async def _requeue(self, build_id: str) -> None:
        """A fresh arq job for the build, whatever arq remembers of the old one."""
        await self._forget_job(build_id)
        await enqueue_build(self._queue, build_id, self._app.settings.queue_name)

    async def _forget_job(self, build_id: str) -> None:
        job = job_id(build_id)
        keys = [prefix + job for prefix in (in_progress_key_prefix, job_key_prefix,
                                            retry_key_prefix, result_key_prefix)]  # fmt: skip
        async with self._queue.pipeline(transaction=True) as pipe:
            pipe.zrem(self._app.settings.queue_name, job)
            pipe.delete(*keys)
            await pipe.execute()

    async def _remove_abandoned_workspaces(self) -> None:
        """Workspaces on this machine of builds that ended without their worker removing them (it
        was killed). Only ended builds': a running build's heartbeat can be missing for a moment
        (a Redis restart), its record's state cannot."""
        root = self._app.settings.workspace_root
        names = await asyncio.to_thread(_workspace_names, root)
        store = self._app.store
        for name in names:
            build = await store.get(name)
            if build is not None and build.state.terminal and not await store.is_alive(name):
                log.warning("removing an abandoned workspace", build_id=name)
                self._app.cleanups.discard_workspace(root / name)

    async def _remove_abandoned_secrets(self) -> None:
        """Secret files on this machine of builds that ended (or whose record is gone) without
        their worker removing them: it was killed. A build with a heartbeat keeps its files."""
        root = self._app.settings.secrets_work_dir
        store = self._app.store
        for name in await asyncio.to_thread(_workspace_names, root):
            build = await store.get(name)
            ended = build is None or build.state.terminal
            if ended and not await store.is_alive(name):
                log.warning("removing abandoned secret files", build_id=name)
                await asyncio.to_thread(remove_build_secrets, root / name)

    async def _keep_history_bounded(self) -> None:
        """Ended builds' logs out of Redis into the blob store; builds past retention removed."""
        seconds = self._app.settings.janitor_seconds / 2  # each: a backlog drains in time
        if self._app.archiver is not None:
            await self._app.archiver.catch_up(seconds)
        if self._app.retention is not None:
            await self._app.retention.catch_up(seconds)

    async def _remove_orphan_containers(self) -> None:
        """Containers on this engine whose build no worker is running (their worker was killed)."""
        for build_id in sorted(await self._app.engine.leftover_builds()):
            if not await self._app.store.is_alive(build_id):
                log.warning("removing an orphan container", build_id=build_id)
                await self._app.engine.remove_build(build_id)


def _workspace_names(root: Path) -> list[str]:
    """The build ids that have a folder under `root` (not the trash)."""
    try:
        return [p.name for p in root.iterdir() if p.is_dir() and p.name != TRASH]
    except FileNotFoundError:
        return []
