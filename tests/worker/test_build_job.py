"""The build job (`run_build`) on the fake engine, with the real Redis store, real git checkouts
and the GitHub fake: what the record, the logs, the heartbeat, GitHub and the engine show after a
build passes, fails, errs, times out, is cancelled, or is handed back by a worker shutting down."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

import pytest

from testing.fake_engine import FakeEngine
from tests.engine.helpers import IMAGE, build_info, step
from tests.worker.conftest import WORKER, Queued
from tingle.build import Build, BuildState, StepRecord, StepState
from tingle.plan import RunStep
from tingle.store import CancelRequest
from tingle.worker.build_job import WorkerContext, run_build


async def stored(app: WorkerContext, build_id: str) -> Build:
    build = await app.store.get(build_id)
    assert build is not None
    return build


async def posted(app: WorkerContext, fake_github: Any, build: Build) -> list[tuple[str, str, str]]:
    """(context, state, description) of every status GitHub got for the build's commit, in order,
    once the worker's feedback is posted."""
    await app.feedback.publisher.drain()
    statuses = fake_github.statuses(build.repo, build.sha)
    return [(s["context"], s["state"], s["description"]) for s in statuses]


def latest(statuses: list[tuple[str, str, str]]) -> dict[str, tuple[str, str]]:
    return {context: (state, text) for context, state, text in statuses}


def job(app: WorkerContext, build_id: str) -> asyncio.Task[str]:
    return asyncio.create_task(run_build({"tingle": app}, build_id))


async def test_a_passing_build_is_recorded_logged_and_shown_on_github(
    app: WorkerContext, engine: FakeEngine, queued: Queued, fake_github: Any
) -> None:
    build = await queued(build_info(step("hello", "echo hello from $TINGLE_COMMIT_SHA"),
                                    step("test", "cat build-info.yaml")))  # fmt: skip

    assert await run_build({"tingle": app}, build.id) == "success"

    done = await stored(app, build.id)
    assert (done.state, done.reason, done.worker, done.attempts) == (
        BuildState.SUCCESS, None, WORKER, 1,
    )  # fmt: skip
    assert [(s.name, s.state, s.exit_code) for s in done.steps] == [
        ("hello", StepState.SUCCESS, 0),
        ("test", StepState.SUCCESS, 0),
    ]
    assert await app.store.log_text(build.id, 0) == (
        f"+ echo hello from $TINGLE_COMMIT_SHA\nhello from {build.sha}"
    )
    assert (await app.store.log_text(build.id, 1)).splitlines()[:2] == [
        "+ cat build-info.yaml",
        "version: 2",  # the commit was checked out into the workspace
    ]
    assert not await app.store.is_alive(build.id)  # the heartbeat ended with the job
    assert await app.store.active_builds() == []
    statuses = await posted(app, fake_github, build)
    shown = {context: (state, re.sub(r"\d+s$", "Ns", text)) for context, (state, text)
             in latest(statuses).items()}  # fmt: skip
    assert shown == {
        "tingle": ("success", f"Build #{build.id} passed in Ns"),
        "tingle/test": ("success", "test: hello, test passed in Ns"),
    }
    overall = [state for context, state, _ in statuses if context == "tingle"]
    assert overall[-1] == "success" and set(overall[:-1]) <= {"pending"}  # never back
    assert await app.cleanups.drain(5)
    assert engine.live() == []
    assert [p.name for p in app.settings.workspace_root.iterdir() if p.name != ".trash"] == []


async def test_a_failing_step_fails_the_build_and_github_says_which(
    app: WorkerContext, queued: Queued, fake_github: Any
) -> None:
    build = await queued(build_info(step("test", "exit 3"), step("after", "true")))

    assert await run_build({"tingle": app}, build.id) == "failure"

    done = await stored(app, build.id)
    assert done.reason == "step 'test' failed (exit 3)"
    assert [s.state for s in done.steps] == [StepState.FAILURE, StepState.SKIPPED]
    assert latest(await posted(app, fake_github, build)) == {
        "tingle": ("failure", f"Build #{build.id} failed: step 'test' failed (exit 3)"),
        "tingle/test": ("failure", "test: step 'test' failed"),
    }


async def test_an_engine_failure_errs_the_build_and_records_it_on_the_step(
    app: WorkerContext, queued: Queued, fake_github: Any
) -> None:
    build = await queued(build_info(step("test", "explode no space left on device")))

    assert await run_build({"tingle": app}, build.id) == "error"

    done = await stored(app, build.id)
    reason = "step 'test': no space left on device"
    assert (done.reason, done.steps[0].state, done.steps[0].error) == (
        reason, StepState.ERROR, reason,
    )  # fmt: skip
    assert latest(await posted(app, fake_github, build))["tingle"] == (
        "error", f"Build #{build.id} errored: {reason}",
    )  # fmt: skip


async def test_a_checkout_that_fails_errs_the_build_before_any_container(
    app: WorkerContext, engine: FakeEngine, queued: Queued
) -> None:
    build = await queued(build_info(step("test", "true")), sha="0" * 40)  # no such commit

    assert await run_build({"tingle": app}, build.id) == "error"

    done = await stored(app, build.id)
    assert done.reason is not None and done.reason.startswith("checkout failed: ")
    assert (done.steps, engine.containers) == ([], [])


async def test_a_build_that_runs_out_of_time_has_its_containers_stopped_when_the_job_returns(
    app: WorkerContext, engine: FakeEngine, queued: Queued
) -> None:
    app.settings = dataclasses.replace(app.settings, build_timeout_seconds=1)
    engine.removal_seconds = 0.1  # were the removal deferred, it would still be going on
    build = await queued(build_info(step("slow", "sleep 30")))

    assert await run_build({"tingle": app}, build.id) == "failure"

    done = await stored(app, build.id)
    assert (done.reason, done.steps[0].state) == ("build timed out after 1s", StepState.ERROR)
    assert engine.live() == []


async def test_a_cancel_mid_step_ends_the_build_cancelled_and_its_containers_gone(
    app: WorkerContext, engine: FakeEngine, queued: Queued, fake_github: Any
) -> None:
    engine.removal_seconds = 0.1
    build = await queued(
        build_info(step("long", "echo started", "sleep 30"), step("after", "true"))
    )
    running = job(app, build.id)
    await engine.wait_running("long")

    await app.store.request_cancel(build.id, CancelRequest("superseded by #2", superseded_by="2"))
    running.cancel()  # what arq's abort does to the job
    with pytest.raises(asyncio.CancelledError):
        await running

    done = await stored(app, build.id)
    assert (done.state, done.reason, done.superseded_by, done.cancelled_by) == (
        BuildState.CANCELLED, "superseded by #2", "2", None,
    )  # fmt: skip
    assert [s.state for s in done.steps] == [StepState.CANCELLED, StepState.SKIPPED]
    assert done.finished_at is not None
    assert engine.live() == []  # before the job ended, not in the background
    assert not await app.store.is_alive(build.id)
    assert await app.store.active_builds() == []
    assert latest(await posted(app, fake_github, build)) == {
        "tingle": ("error", f"Build #{build.id} cancelled: superseded by #2"),
        "tingle/test": ("error", "test: cancelled"),
    }


async def test_a_worker_shutting_down_hands_the_build_back_for_a_clean_run_elsewhere(
    app: WorkerContext, engine: FakeEngine, queued: Queued
) -> None:
    engine.removal_seconds = 0.1
    build = await queued(build_info(step("long", "echo started", "sleep 30")))
    running = job(app, build.id)
    await engine.wait_running("long")
    for _ in range(500):  # until its first line is in the store
        if await app.store.read_log(build.id, 0):
            break
        await asyncio.sleep(0.01)
    assert await app.store.read_log(build.id, 0)

    running.cancel()  # what a stopping worker does to its jobs, without a cancel request
    with pytest.raises(asyncio.CancelledError):
        await running

    back = await stored(app, build.id)
    assert (back.state, back.reason) == (BuildState.QUEUED, "handed back by a worker shutting down")
    assert (back.steps, back.worker, back.attempts) == ([], None, 1)
    assert await app.store.read_log(build.id, 0) == []  # the next run's log starts afresh
    assert engine.live() == []  # the worker removed its containers before letting go
    assert await app.store.active_builds() == [build.id]  # still to be built
    assert not await app.store.is_alive(build.id)


async def test_a_build_cancelled_before_a_worker_picked_it_up_never_runs(
    app: WorkerContext, engine: FakeEngine, queued: Queued
) -> None:
    build = await queued(build_info(step("test", "true")))
    await app.store.request_cancel(build.id, CancelRequest("cancelled by octocat", by="octocat"))

    assert await run_build({"tingle": app}, build.id) == "cancelled"

    done = await stored(app, build.id)
    assert (done.state, done.reason, done.attempts, done.cancelled_by) == (
        BuildState.CANCELLED, "cancelled by octocat", 0, "octocat",
    )  # fmt: skip
    assert (engine.executors, engine.containers) == ([], [])


async def test_a_finished_build_is_never_run_twice_and_a_missing_one_not_at_all(
    app: WorkerContext, engine: FakeEngine, queued: Queued
) -> None:
    build = await queued(build_info(step("test", "true")), state=BuildState.FAILURE)

    assert await run_build({"tingle": app}, build.id) == "failure"
    assert await run_build({"tingle": app}, "404") == "missing"
    assert await run_build({"tingle": app, "job_id": f"build:{build.id}"}) == "failure"

    assert (await stored(app, build.id)).attempts == 0
    assert engine.executors == []


async def test_a_build_whose_worker_died_runs_again_from_a_clean_slate(
    app: WorkerContext, engine: FakeEngine, queued: Queued
) -> None:
    build = await queued(
        build_info(step("test", "echo second run")),
        state=BuildState.RUNNING,
        worker="dead-worker:9",
        attempts=1,
        steps=[StepRecord("test", state=StepState.RUNNING)],
    )
    await app.store.append_log(build.id, 0, 1, "+ echo first run\nfirst run")
    dead = engine.executor()  # what the dead worker left behind: a container still running
    await dead.setup(build.id, app.settings.workspace_root / build.id)
    left = asyncio.create_task(dead.run(RunStep("test", IMAGE, ("sleep 30",)), {}, ignore))
    await engine.wait_running("test")
    left.cancel()  # the worker is gone; its container is not
    with pytest.raises(asyncio.CancelledError):
        await left

    assert await run_build({"tingle": app}, build.id) == "success"

    done = await stored(app, build.id)
    assert (done.attempts, done.worker) == (2, WORKER)
    assert engine.removed_builds == [build.id]  # the earlier attempt's containers went first
    assert dead.made[0].removed
    assert await app.store.log_text(build.id, 0) == "+ echo second run\nsecond run"


async def ignore(chunk: bytes) -> None:
    pass
