"""The arq worker: the composition root that wires store, feedback, templates, the Docker engine,
the janitor and the notice follower around the build job."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from typing import Any

import structlog
from arq.connections import ArqRedis
from arq.constants import result_key_prefix
from arq.worker import Worker, func
from redis.exceptions import ConnectionError as RedisConnectionError

from tingle import metrics
from tingle.archive.archiver import Archiver
from tingle.archive.blobs import BlobStore
from tingle.archive.retention import Retention
from tingle.engine.factory import engine_options
from tingle.executor.base import Engine
from tingle.executor.docker import DockerEngine
from tingle.executor.docker import connect as connect_docker
from tingle.forge.factory import github_clients
from tingle.forge.feedback import make_feedback
from tingle.pipeline import load_templates
from tingle.queue import RUN_BUILD, connect, job_id, redis_settings
from tingle.secrets import open_secret_store
from tingle.settings import Settings
from tingle.store import BuildStore
from tingle.worker import health as worker_health
from tingle.worker.build_job import MAX_ATTEMPTS, WorkerContext, run_build
from tingle.worker.janitor import Janitor
from tingle.worker.notice_follower import follow_notices
from tingle.worker.preflight import preflight

log = structlog.get_logger(__name__)

RECONNECT_SECONDS = 2.0
CLOSE_SECONDS = 10.0  # how long a stopping worker waits for arq's loop and its clean-up
KEEP_JOB_RESULT_SECONDS = 3600  # nothing reads it; it only keeps arq from running a job twice


def worker_context(
    settings: Settings, pool: ArqRedis, name: str, engine: Engine | None = None
) -> WorkerContext:
    """What every build job of a worker shares: store, feedback, templates, the engine (the local
    Docker engine unless given), secrets."""
    store = BuildStore(pool, settings.key_prefix)
    github = github_clients(settings)
    blobs = BlobStore.open(settings.archive_url)
    feedback = make_feedback(pool, store, settings, github)
    publisher = feedback.publisher

    async def forget_settled_feedback(build_id: str) -> None:
        await publisher.forget_statuses(build_id, settled_only=True)

    async def forget_feedback(build_id: str) -> None:
        await publisher.forget_statuses(build_id, settled_only=False)

    async def forget_job(build_id: str) -> None:
        await pool.delete(result_key_prefix + job_id(build_id))

    return WorkerContext(
        settings=settings,
        store=store,
        feedback=feedback,
        github=github,
        templates=load_templates(settings.templates_dir),
        engine=engine or DockerEngine(connect_docker(), engine_options(settings, worker=name)),
        name=name,
        secrets=open_secret_store(settings.secrets_url),
        archiver=Archiver(
            store,
            blobs,
            settings.archive_delay_seconds,
            settings.archive_batch,
            after_archive=forget_settled_feedback,
        ),
        retention=Retention(
            store,
            blobs,
            settings.retention_seconds,
            settings.retention_batch,
            forget=(forget_feedback, forget_job),
        ),
    )


def make_worker(
    settings: Settings,
    pool: ArqRedis,
    *,
    burst: bool = False,
    health: worker_health.WorkerHealth | None = None,
    engine: Engine | None = None,
) -> Worker:
    """`engine`: the container engine builds run on (None: the local Docker engine)."""

    async def startup(ctx: dict[str, Any]) -> None:
        name = f"{socket.gethostname()}:{os.getpid()}"
        app = worker_context(settings, pool, name, engine)
        ctx["tingle"] = app
        metrics.set_worker_capacity(app.name, settings.worker_concurrency)
        if health is not None:
            health.mark_ready()
            ctx["health"] = asyncio.create_task(worker_health.heartbeat(health))
        if not burst:
            ctx["janitor"] = asyncio.create_task(Janitor(app, pool).run_forever())
        if app.github is not None:  # publish the feedback of the builds the web app tells about
            ctx["notices"] = asyncio.create_task(follow_notices(pool, app.store, app.feedback))

    async def shutdown(ctx: dict[str, Any]) -> None:
        if health is not None:
            health.mark_stopping()
        for name in ("janitor", "notices", "health"):
            task: asyncio.Task[None] | None = ctx.get(name)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        app: WorkerContext | None = ctx.get("tingle")
        if app is not None:  # finished builds' clean-ups, and feedback still being posted
            await asyncio.gather(app.cleanups.drain(), app.feedback.publisher.drain())

    return Worker(
        # arq's own retry limit stays above ours, so the janitor ends a doomed build first.
        functions=[func(run_build, name=RUN_BUILD, max_tries=MAX_ATTEMPTS + 2)],
        redis_pool=pool,
        redis_settings=redis_settings(settings.redis_url),
        queue_name=settings.queue_name,
        max_jobs=settings.worker_concurrency,
        job_timeout=settings.build_timeout_seconds + 60,
        keep_result=KEEP_JOB_RESULT_SECONDS,
        on_startup=startup,
        on_shutdown=shutdown,
        burst=burst,
        poll_delay=0.01,  # an idle worker asks Redis 100 times a second: pickup in ~5 ms
        handle_signals=not burst,
        allow_abort_jobs=True,
        job_completion_wait=settings.shutdown_grace_seconds,
    )


async def run_worker(
    settings: Settings,
    *,
    burst: bool = False,
    health: worker_health.WorkerHealth | None = None,
    engine: Engine | None = None,
) -> None:
    """Run a worker until stopped. Losing Redis stops arq's loop; this starts a new one once Redis
    answers again, so a Redis restart needs no one to restart the workers. A bad setting or a
    folder it cannot write stops it before it starts (tingle.worker.preflight): that is no lost
    Redis, and no retry mends it."""
    await asyncio.to_thread(preflight, settings)
    while True:
        pool = connect(settings.redis_url)
        worker = make_worker(settings, pool, burst=burst, health=health, engine=engine)
        try:
            await _run_until_stopped(worker)
            return
        except asyncio.CancelledError:  # arq cancels its main task on SIGINT / SIGTERM
            log.info("worker stopped")
            return
        except (RedisConnectionError, OSError) as exc:
            log.warning("lost redis; reconnecting", error=str(exc), in_seconds=RECONNECT_SECONDS)
        finally:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(worker.close(), CLOSE_SECONDS)
        await asyncio.sleep(RECONNECT_SECONDS)


async def _run_until_stopped(worker: Worker) -> None:
    """arq's loop, ended for sure once arq was told to stop (a signal, after the grace period):
    its main task is then given a moment, not forever, so a stopping worker always exits."""
    stopped = asyncio.Event()
    worker.on_stop = lambda signum: stopped.set()
    loop_task = asyncio.create_task(worker.async_run())
    stop_task = asyncio.create_task(stopped.wait())
    try:
        await asyncio.wait({loop_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        if not loop_task.done():
            await asyncio.wait({loop_task}, timeout=CLOSE_SECONDS)
            loop_task.cancel()
            raise asyncio.CancelledError
        loop_task.result()
    finally:
        stop_task.cancel()
