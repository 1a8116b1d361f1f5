"""The janitor on the fake engine and the real store: a build whose worker died (no heartbeat on
two passes) runs again, or ends after MAX_ATTEMPTS, or ends cancelled when someone asked; what
dead workers left on the engine goes, what live ones run stays. (tests/test_janitor.py checks the
Docker engine's labels; this needs no Docker.)"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from arq.connections import ArqRedis

from testing.fake_engine import FakeEngine
from tests.engine.helpers import IMAGE, build_info, step
from tests.worker.conftest import Queued
from tingle.build import Build, BuildState, StepRecord, StepState
from tingle.plan import RunStep
from tingle.queue import enqueue_build, job_id
from tingle.store import CancelRequest
from tingle.worker.build_job import MAX_ATTEMPTS, WorkerContext
from tingle.worker.janitor import Janitor

INFO = build_info(step("test", "true"))


def queue_of(app: WorkerContext) -> ArqRedis:
    queue = app.store.redis
    assert isinstance(queue, ArqRedis)  # a worker's store shares arq's connection pool
    return queue


def janitor(app: WorkerContext) -> Janitor:
    return Janitor(app, queue_of(app))


async def running(queued: Queued, attempts: int = 1, **changes: Any) -> Build:
    """A build some worker was running (its steps half done), with no heartbeat: that worker
    died."""
    return await queued(
        INFO,
        state=BuildState.RUNNING,
        worker="dead:1",
        attempts=attempts,
        steps=[StepRecord("test", state=StepState.RUNNING)],
        **changes,
    )


async def leave_container(app: WorkerContext, engine: FakeEngine, build_id: str) -> None:
    """What a worker killed mid-step leaves on the engine: a container that runs on."""
    executor = engine.executor()
    await executor.setup(build_id, app.settings.workspace_root / build_id)
    task = asyncio.create_task(executor.run(RunStep("test", IMAGE, ("sleep 30",)), {}, ignore))
    await engine.wait_running("test")
    task.cancel()  # the worker is gone; its container is not
    with pytest.raises(asyncio.CancelledError):
        await task


async def ignore(chunk: bytes) -> None:
    pass


async def test_a_build_whose_worker_died_is_handed_back_on_the_second_pass(
    app: WorkerContext, engine: FakeEngine, queued: Queued
) -> None:
    build = await running(queued)
    await app.store.append_log(build.id, 0, 1, "+ true")
    await leave_container(app, engine, build.id)
    sweeper = janitor(app)

    assert await sweeper.sweep() == []  # one pass without a heartbeat may be a Redis hiccup
    assert engine.live(build.id) == []  # its containers go at once: no live worker runs them
    assert await sweeper.sweep() == [build.id]

    back = await app.store.get(build.id)
    assert back is not None
    assert (back.state, back.reason, back.steps, back.worker, back.attempts) == (
        BuildState.QUEUED, "worker dead:1 stopped answering; running again", [], None, 1,
    )  # fmt: skip
    assert await app.store.read_log(build.id, 0) == []
    queue = app.settings.queue_name
    assert await app.store.redis.zscore(queue, job_id(build.id)) is not None  # a job again


async def test_a_build_that_lost_its_worker_too_often_ends_in_error(
    app: WorkerContext, queued: Queued
) -> None:
    build = await running(queued, attempts=MAX_ATTEMPTS)
    sweeper = janitor(app)
    await sweeper.sweep()

    assert await sweeper.sweep() == [build.id]

    ended = await app.store.get(build.id)
    assert ended is not None
    assert (ended.state, ended.reason) == (
        BuildState.ERROR, f"its worker died {MAX_ATTEMPTS} times; giving up",
    )  # fmt: skip
    assert [s.state for s in ended.steps] == [StepState.ERROR]
    assert await app.store.active_builds() == []


async def test_a_lost_build_someone_asked_to_cancel_ends_cancelled(
    app: WorkerContext, queued: Queued
) -> None:
    build = await running(queued)
    await app.store.request_cancel(build.id, CancelRequest("cancelled by octocat", by="octocat"))
    sweeper = janitor(app)
    await sweeper.sweep()

    assert await sweeper.sweep() == [build.id]

    ended = await app.store.get(build.id)
    assert ended is not None
    assert (ended.state, ended.reason) == (BuildState.CANCELLED, "cancelled by octocat")
    assert ended.cancelled_by == "octocat"  # the person who asked, kept by whoever ends it
    assert [s.state for s in ended.steps] == [StepState.CANCELLED]


async def test_live_held_and_properly_queued_builds_and_their_containers_stay(
    app: WorkerContext, engine: FakeEngine, queued: Queued
) -> None:
    alive = await running(queued)
    await app.store.heartbeat(alive.id, "w:2", 60)
    await leave_container(app, engine, alive.id)
    held = await queued(INFO, state=BuildState.HELD)
    waiting = await queued(INFO)
    await enqueue_build(queue_of(app), waiting.id, app.settings.queue_name)
    sweeper = janitor(app)

    assert await sweeper.sweep() == []
    assert await sweeper.sweep() == []

    for build in (alive, held, waiting):
        now = await app.store.get(build.id)
        assert now is not None and now.state is build.state
    assert len(engine.live(alive.id)) == 1
    assert engine.removed_builds == []
