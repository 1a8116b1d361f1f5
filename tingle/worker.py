"""The arq worker: a composition root wiring store, runner, executor and reporter together."""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass
from typing import Any

import structlog
from arq.connections import ArqRedis
from arq.worker import Worker, func

from tingle.build import Build, BuildState
from tingle.config import Settings
from tingle.executor import docker as docker_executor
from tingle.forge.factory import github_client
from tingle.forge.reporter import StatusReporter, status_for
from tingle.pipeline import TemplateSet, load_templates
from tingle.queue import RUN_BUILD, connect, redis_settings
from tingle.runner import BuildRunner, RunnerConfig, finish, git_fetch
from tingle.store import BuildStore

log = structlog.get_logger(__name__)


@dataclass
class WorkerContext:
    settings: Settings
    store: BuildStore
    reporter: StatusReporter
    templates: TemplateSet
    docker: Any
    name: str


class RecordingEvents:
    """What the runner reports goes to Redis (record, logs) and to GitHub (status)."""

    def __init__(self, ctx: WorkerContext) -> None:
        self._ctx = ctx
        self._last_state: BuildState | None = None

    async def changed(self, build: Build) -> None:
        await self._ctx.store.save(build)
        if build.state is not self._last_state:  # statuses follow the build, not every step
            self._last_state = build.state
            settings = self._ctx.settings
            status = status_for(
                build, context=settings.status_context, target_url=settings.build_url(build.id)
            )
            await self._ctx.reporter.publish(build, status)

    async def append_log(self, build_id: str, step_index: int, first_line: int, text: str) -> str:
        return await self._ctx.store.append_log(build_id, step_index, first_line, text)


async def run_build(ctx: dict[str, Any], build_id: str) -> str:
    app: WorkerContext = ctx["tingle"]
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
        events = RecordingEvents(app)
        if await app.store.cancel_request(build.id):  # cancelled before a worker picked it up
            await _after_cancel(app, events, build)
            return build.state.value
        if build.state is BuildState.RUNNING:  # an earlier attempt died mid-build
            log.warning("restarting a build whose worker died", previous_worker=build.worker)
            await asyncio.to_thread(docker_executor.remove_build_containers, app.docker, build.id)
            await app.store.delete_logs(build.id, len(build.steps))
        build.worker = app.name
        settings = app.settings
        runner = BuildRunner(
            RunnerConfig(
                workspace_root=settings.workspace_root,
                templates=app.templates,
                agent_image_prefix=settings.agent_image_prefix,
                build_timeout_seconds=settings.build_timeout_seconds,
                step_log_limit=settings.step_log_limit,
            ),
            docker_executor.DockerExecutor(
                app.docker,
                network=settings.docker_network,
                memory=settings.step_memory,
                cpus=settings.step_cpus,
            ),
            events,
            settings.build_url(build.id),
        )
        log.info("build started")
        try:
            clone_url = settings.rewrite_clone_url(build.clone_url)
            await runner.run(build, git_fetch(clone_url, build.sha, settings.github_token))
        except asyncio.CancelledError:
            await asyncio.shield(_after_cancel(app, events, build))
            raise
        log.info("build finished", state=build.state.value, reason=build.reason)
        return build.state.value
    finally:
        structlog.contextvars.unbind_contextvars("build_id", "repo", "delivery_id")


async def _after_cancel(app: WorkerContext, events: RecordingEvents, build: Build) -> None:
    """A cancelled job is either a cancelled build (someone asked: it ends here) or a worker
    shutting down (the build goes back to the queue, and arq runs it again)."""
    request = await app.store.cancel_request(build.id)
    if request:
        finish(build, BuildState.CANCELLED, request.reason)
        build.superseded_by = request.superseded_by
        log.info("build cancelled", reason=request.reason)
    else:
        await app.store.delete_logs(build.id, len(build.steps))
        build.state, build.reason, build.steps, build.worker = (
            BuildState.QUEUED, "handed back by a worker shutting down", [], None
        )  # fmt: skip
        log.warning("build handed back")
    await events.changed(build)


def make_worker(settings: Settings, pool: ArqRedis, *, burst: bool = False) -> Worker:
    async def startup(ctx: dict[str, Any]) -> None:
        client = github_client(settings)
        ctx["tingle"] = WorkerContext(
            settings=settings,
            store=BuildStore(pool, settings.key_prefix),
            reporter=StatusReporter(pool, client, prefix=settings.key_prefix),
            templates=load_templates(settings.templates_dir),
            docker=docker_executor.connect(),
            name=f"{socket.gethostname()}:{os.getpid()}",
        )

    return Worker(
        functions=[func(run_build, name=RUN_BUILD, max_tries=3)],
        redis_pool=pool,
        redis_settings=redis_settings(settings.redis_url),
        queue_name=settings.queue_name,
        max_jobs=settings.worker_concurrency,
        job_timeout=settings.build_timeout_seconds + 60,
        keep_result=24 * 3600,
        on_startup=startup,
        burst=burst,
        poll_delay=0.05,
        handle_signals=not burst,
        allow_abort_jobs=True,
        job_completion_wait=settings.shutdown_grace_seconds,
    )


async def run_worker(settings: Settings, *, burst: bool = False) -> None:
    pool = connect(settings.redis_url)
    worker = make_worker(settings, pool, burst=burst)
    try:
        await worker.async_run()
    except asyncio.CancelledError:  # arq cancels its main task on SIGINT / SIGTERM
        log.info("worker stopped")
    finally:
        await worker.close()
