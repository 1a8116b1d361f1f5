"""The arq job that runs one build: loads the record, guards against running a build twice,
keeps a heartbeat while it runs, and turns a cancelled job into a cancelled or handed-back build."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tingle import metrics
from tingle.archive.archiver import Archiver
from tingle.archive.retention import Retention
from tingle.build import Build, BuildState
from tingle.engine.cleanups import Cleanups
from tingle.engine.factory import make_runner, runner_config
from tingle.engine.runner import git_fetch
from tingle.executor.base import Engine
from tingle.forge.auth import GitHubClients
from tingle.forge.feedback import Feedback
from tingle.pipeline import TemplateSet
from tingle.queue import build_id_of
from tingle.secrets import SecretStore
from tingle.settings import Settings
from tingle.store import BuildStore

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 3  # runs of one build that may die with their worker before it ends in error
REDIS_RETRY_SECONDS = 60.0  # how long a build waits out a Redis restart before giving up

T = TypeVar("T")


@dataclass
class WorkerContext:
    settings: Settings
    store: BuildStore
    feedback: Feedback
    github: GitHubClients | None
    templates: TemplateSet
    engine: Engine
    name: str
    secrets: SecretStore
    # Finished builds' containers and workspaces, removed after their jobs returned; a stopping
    # worker waits for them: `await app.cleanups.drain()`.
    cleanups: Cleanups = field(default_factory=Cleanups)
    # Ended builds' logs to the blob store, and history past retention removed (the janitor's);
    # None: neither happens (tests that need no archive).
    archiver: Archiver | None = None
    retention: Retention | None = None


async def with_redis_retry(call: Callable[[], Awaitable[T]]) -> T:
    """Retry a Redis write through a short outage (a restart, a failover) instead of failing the
    build over it."""
    delay, waited = 0.1, 0.0
    while True:
        try:
            return await call()
        except (RedisConnectionError, RedisTimeoutError, OSError):
            if waited >= REDIS_RETRY_SECONDS:
                raise
            log.warning("redis unavailable, retrying", in_seconds=delay)
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 5.0)


class RecordingEvents:
    """What the runner reports goes to Redis (record, logs) and to GitHub (status)."""

    def __init__(self, ctx: WorkerContext) -> None:
        self._ctx = ctx

    async def changed(self, build: Build) -> None:
        await with_redis_retry(lambda: self._ctx.store.save(build))
        try:
            await self._ctx.feedback.build_changed(build)
        except Exception:  # feedback never fails a build; what was not recorded is redone later
            log.exception("feedback not recorded")

    async def append_log(self, build_id: str, step_index: int, first_line: int, text: str) -> str:
        store = self._ctx.store
        return await with_redis_retry(
            lambda: store.append_log(build_id, step_index, first_line, text)
        )


async def run_build(ctx: dict[str, Any], build_id: str | None = None) -> str:
    """The arq job. A webhook's job carries no argument: its id (`build:<id>`) names the build."""
    app: WorkerContext = ctx["tingle"]
    build_id = build_id or build_id_of(ctx["job_id"])
    build = await app.store.get(build_id)
    if build is None:
        log.warning("build record missing", build_id=build_id)
        return "missing"
    structlog.contextvars.bind_contextvars(
        build_id=build.id, repo=build.repo, delivery_id=build.delivery_id
    )
    try:
        if build.state.terminal:  # finished by an earlier attempt: never run a build twice
            return build.state.value
        # From here on the janitor can tell this worker is alive and has the build.
        async with _heartbeat(app, build.id):
            return await _start(app, build)
    finally:
        structlog.contextvars.unbind_contextvars("build_id", "repo", "delivery_id")


async def _start(app: WorkerContext, build: Build) -> str:
    events = RecordingEvents(app)
    if await app.store.cancel_request(build.id):  # cancelled before a worker picked it up
        await _after_cancel(app, events, build)
        return build.state.value
    if build.state is BuildState.RUNNING:  # an earlier attempt died mid-build
        log.warning("restarting a build whose worker died", previous_worker=build.worker)
        await app.engine.remove_build(build.id)
        await app.store.delete_logs(build.id, len(build.steps))
    build.start(app.name)
    if build.attempts == 1:
        metrics.observe_queue_wait(time.time() - build.created_at)
    with metrics.running_build(app.name):
        return await _run(app, events, build)


async def _run(app: WorkerContext, events: RecordingEvents, build: Build) -> str:
    settings = app.settings
    runner = make_runner(
        settings,
        runner_config(settings, app.templates),
        app.engine,
        events,
        settings.build_url(build.id),
        secrets=app.secrets,
        cleanups=app.cleanups,
        github=app.github,  # a deploy asks GitHub whether its commit is still the branch's head
    )
    log.info("build started", attempt=build.attempts)
    try:
        clone_url = settings.rewrite_clone_url(build.clone_url)
        await runner.run(build, git_fetch(clone_url, build.sha, await _clone_token(app, build)))
    except asyncio.CancelledError:
        await asyncio.shield(_after_cancel(app, events, build))
        raise
    log.info("build finished", state=build.state.value, reason=build.reason)
    metrics.observe_build(build.state.value, build.duration or 0.0)
    for step in build.steps:
        if step.duration is not None:
            metrics.observe_step(step.state.value, step.duration)
    return build.state.value


async def _clone_token(app: WorkerContext, build: Build) -> str:
    """The App installation's token (or the personal token) for cloning private repositories."""
    if app.github is None:
        return ""
    try:
        return await asyncio.to_thread(app.github.clone_token, build.installation_id)
    except Exception as exc:  # a public repository clones without one
        log.warning("no clone token", error=str(exc))
        return ""


@contextlib.asynccontextmanager
async def _heartbeat(app: WorkerContext, build_id: str) -> AsyncIterator[None]:
    """While the build runs, a key with a short expiry says so; the janitor takes a build whose key
    expired for one whose worker died."""

    async def beat() -> None:
        while True:
            with contextlib.suppress(RedisConnectionError, RedisTimeoutError, OSError):
                await app.store.heartbeat(build_id, app.name, ttl)
            await asyncio.sleep(app.settings.heartbeat_seconds)

    ttl = app.settings.heartbeat_ttl_seconds
    await with_redis_retry(lambda: app.store.heartbeat(build_id, app.name, ttl))
    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.shield(with_redis_retry(lambda: app.store.clear_heartbeat(build_id)))


async def _after_cancel(app: WorkerContext, events: RecordingEvents, build: Build) -> None:
    """A cancelled job is either a cancelled build (someone asked: it ends here) or a worker
    shutting down (the build goes back to the queue, and arq runs it again)."""
    request = await app.store.cancel_request(build.id)
    if request:
        build.cancel(request.reason, request.superseded_by, request.by)
        metrics.observe_build("cancelled", build.duration or 0.0)
        log.info("build cancelled", reason=request.reason)
    else:
        await app.store.delete_logs(build.id, len(build.steps))
        build.hand_back("handed back by a worker shutting down")
        log.warning("build handed back")
    await events.changed(build)
