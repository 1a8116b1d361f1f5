"""A worker's context on the fake engine: the tests' Redis and GitHub fake are real, containers are
not (testing/fake_engine.py), so nothing here needs Docker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

import pytest

from testing.fake_engine import FakeEngine
from tests.engine.helpers import a_build
from tingle.build import Build
from tingle.queue import connect
from tingle.settings import Settings
from tingle.worker.arq_worker import worker_context
from tingle.worker.build_job import WorkerContext

WORKER = "fake-worker:1"


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
async def app(settings: Settings, engine: FakeEngine) -> AsyncIterator[WorkerContext]:
    """What a worker's start-up makes, with the fake engine; its clean-ups and feedback are
    waited for afterwards."""
    pool = connect(settings.redis_url)
    context = worker_context(settings, pool, WORKER, engine)
    yield context
    await context.cleanups.drain(5)
    await context.feedback.publisher.drain()
    await pool.aclose()


class Queued(Protocol):
    async def __call__(self, info: str, **changes: Any) -> Build: ...


@pytest.fixture
def queued(app: WorkerContext, make_repo: Any) -> Queued:
    """queued(build_info_text, **record changes) → a build of a new commit of octo/app, saved as
    the web app would have queued it (its id: 1, 2, ... within the test)."""
    made: list[Build] = []

    async def make(info: str, **changes: Any) -> Build:
        sha = make_repo("octo/app").commit({"build-info.yaml": info})
        build = a_build(**{"id": str(len(made) + 1), "sha": sha, **changes})
        await app.store.save(build)
        made.append(build)
        return build

    return make
