"""The build job returns once the build's end is saved; its stopped containers and its workspace are
removed in the background (Cleanups), and a stopping worker drains them. Containers that may still
run (a cancel, a hand-back, a build timeout) are removed before the job returns. Real Docker, Redis
and git repositories; GitHub is the fake."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import docker.errors
import pytest
from docker import DockerClient
from structlog.testing import CapturingLogger

from tests.e2e.test_push_to_status import build_info, step
from tingle.build import Build, BuildState
from tingle.engine import cleanups
from tingle.engine.cleanups import TRASH
from tingle.executor import docker as docker_executor
from tingle.settings import Settings
from tingle.store import CancelRequest
from tingle.worker.build_job import WorkerContext, run_build

BUILD_IDS = itertools.count(int(time.time()) % 1_000_000 * 1000)


@pytest.fixture
async def app(
    worker_context: WorkerContext, settings: Settings, docker_client: Any
) -> AsyncIterator[WorkerContext]:
    """A worker's context; afterwards, every clean-up done and no container left behind."""
    yield worker_context
    await worker_context.cleanups.drain(30)
    left = docker_client.containers.list(
        all=True,
        sparse=True,
        filters={"label": f"{docker_executor.INSTANCE_LABEL}={settings.instance}"},
    )
    for container in left:  # so that one test's leftovers never show up in the next one's checks
        container.remove(force=True)
    assert left == [], "containers left behind"


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Holds every container removal and every workspace deletion until set: a slow clean-up."""
    release = threading.Event()
    remove_container, remove_tree = docker_executor.remove_container, cleanups._remove_tree

    def slow_remove_container(container: Any) -> None:
        release.wait(60)
        remove_container(container)

    async def slow_remove_tree(path: Path) -> None:
        await asyncio.to_thread(release.wait, 60)
        await remove_tree(path)

    monkeypatch.setattr(docker_executor, "remove_container", slow_remove_container)
    monkeypatch.setattr(cleanups, "_remove_tree", slow_remove_tree)
    yield release
    release.set()


async def queued(app: WorkerContext, make_repo: Any, *steps: str) -> Build:
    sha = make_repo("octo/app").commit({"build-info.yaml": build_info(*steps)})
    build = Build(
        id=str(next(BUILD_IDS)),  # unique across tests too: each test's Redis starts empty
        repo="octo/app",
        sha=sha,
        ref="refs/heads/main",
        event="push",
        branch="main",
        clone_url="https://github.com/octo/app.git",
    )
    await app.store.save(build)
    return build


def docker_of(app: WorkerContext) -> DockerClient:
    assert isinstance(app.engine, docker_executor.DockerEngine)
    return app.engine.client


def containers(app: WorkerContext, build_id: str) -> list[Any]:
    labels = [
        f"{docker_executor.BUILD_LABEL}={build_id}",
        f"{docker_executor.INSTANCE_LABEL}={app.settings.instance}",
    ]
    found: list[Any] = docker_of(app).containers.list(
        all=True, sparse=True, filters={"label": labels}
    )
    return found


def workspaces(app: WorkerContext) -> list[str]:
    """What is under the workspace root, the trash's content included."""
    root = app.settings.workspace_root
    trash = root / TRASH
    inside = [f"{TRASH}/{p.name}" for p in trash.iterdir()] if trash.exists() else []
    return sorted([p.name for p in root.iterdir() if p.name != TRASH] + inside)


async def state_of(app: WorkerContext, build_id: str) -> BuildState:
    record = await app.store.get(build_id)
    assert record is not None
    return record.state


async def wait_running(app: WorkerContext, build_id: str) -> None:
    async with asyncio.timeout(60):
        while True:
            record = await app.store.get(build_id)
            assert record is not None
            if record.steps and record.steps[0].state == "running" and containers(app, build_id):
                return
            await asyncio.sleep(0.05)


async def test_the_job_returns_before_a_slow_clean_up_ends(
    app: WorkerContext, make_repo: Any, held: threading.Event
) -> None:
    build = await queued(app, make_repo, step("work", "echo made > out.txt"))

    assert await run_build({"tingle": app}, build.id) == "success"

    assert await state_of(app, build.id) is BuildState.SUCCESS  # the end is saved
    assert app.cleanups.pending > 0
    assert len(containers(app, build.id)) == 1  # still there: its removal is held
    [trashed] = workspaces(app)  # out of the way of a next run, not deleted yet
    assert trashed.startswith(f"{TRASH}/{build.id}.")
    assert (app.settings.workspace_root / trashed / "out.txt").read_text() == "made\n"

    held.set()
    assert await app.cleanups.drain(60) is True
    assert containers(app, build.id) == []
    assert workspaces(app) == []


@pytest.mark.parametrize(
    ("commands", "state"),
    [(("true", "echo two"), "success"), (("true", "exit 3"), "failure")],
)
async def test_a_finished_builds_containers_and_workspace_are_removed(
    app: WorkerContext, make_repo: Any, commands: tuple[str, ...], state: str
) -> None:
    steps = [step(f"step-{n}", command) for n, command in enumerate(commands)]
    build = await queued(app, make_repo, *steps)

    assert await run_build({"tingle": app}, build.id) == state

    assert await app.cleanups.drain(60) is True
    assert containers(app, build.id) == []
    assert workspaces(app) == []


async def test_clean_up_failures_are_logged_and_fail_nothing(
    app: WorkerContext, make_repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(container: Any) -> None:
        raise docker.errors.APIError("engine says no")

    async def fail(path: Path) -> None:
        raise OSError("disk says no")

    logged = CapturingLogger()
    monkeypatch.setattr(cleanups, "log", logged)
    monkeypatch.setattr(docker_executor, "remove_container", refuse)
    monkeypatch.setattr(cleanups, "_remove_tree", fail)
    build = await queued(app, make_repo, step("work", "true"))

    assert await run_build({"tingle": app}, build.id) == "success"
    assert await app.cleanups.drain(60) is True

    assert await state_of(app, build.id) is BuildState.SUCCESS
    failed = sorted(c.kwargs["what"] for c in logged.calls if c.method_name == "exception")
    assert failed == [f"containers of build {build.id}", f"workspace {build.id}"]
    monkeypatch.undo()  # what the janitor does with what was left
    docker_executor.remove_build_containers(docker_of(app), build.id, app.settings.instance)


@pytest.mark.parametrize("asked", [True, False], ids=["cancelled", "handed-back"])
async def test_a_cancelled_jobs_running_container_is_gone_when_the_job_ends(
    app: WorkerContext, make_repo: Any, asked: bool
) -> None:
    build = await queued(app, make_repo, step("long", "sleep 60"))
    job = asyncio.create_task(run_build({"tingle": app}, build.id))
    await wait_running(app, build.id)

    if asked:
        await app.store.request_cancel(build.id, CancelRequest("cancelled by a test"))
    job.cancel()  # what arq's abort, or a worker's shutdown, does to the job
    with pytest.raises(asyncio.CancelledError):
        await job

    # A handed-back build may run again elsewhere at once: no container of it may be left.
    assert containers(app, build.id) == []
    expected = BuildState.CANCELLED if asked else BuildState.QUEUED
    assert await state_of(app, build.id) is expected
    assert await app.cleanups.drain(60) is True
    assert workspaces(app) == []


async def test_a_build_that_timed_out_has_its_container_stopped_before_the_job_returns(
    app: WorkerContext, make_repo: Any
) -> None:
    app.settings = dataclasses.replace(app.settings, build_timeout_seconds=2)
    build = await queued(app, make_repo, step("long", "sleep 60"))

    assert await run_build({"tingle": app}, build.id) == "failure"

    assert containers(app, build.id) == []  # removed before the end was saved, not deferred
    assert await app.cleanups.drain(60) is True
    assert workspaces(app) == []


async def test_a_container_still_being_made_when_the_job_is_cancelled_is_removed_too(
    app: WorkerContext, make_repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    creating, made = threading.Event(), threading.Event()
    create = docker_executor.DockerExecutor._create

    def slow_create(self: Any, *args: Any) -> Any:
        creating.set()
        time.sleep(0.5)  # the engine is slow: the cancel comes while this thread makes it
        try:
            return create(self, *args)
        finally:
            made.set()

    monkeypatch.setattr(docker_executor.DockerExecutor, "_create", slow_create)
    build = await queued(app, make_repo, step("long", "sleep 60"))
    job = asyncio.create_task(run_build({"tingle": app}, build.id))
    await asyncio.to_thread(creating.wait, 60)

    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job

    assert await asyncio.to_thread(made.wait, 60)
    assert containers(app, build.id) == []
    assert await state_of(app, build.id) is BuildState.QUEUED
