"""The feedback publisher on a real Redis and the GitHub fake over HTTP: hand-offs from the web app
to the workers, and writes spent from the shared budget."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import pytest
import redis

from tests.support.waiting import wait_for
from tingle.config import Settings
from tingle.forge import reporter
from tingle.forge.factory import github_clients
from tingle.forge.reporter import FeedbackPublisher, Target
from tingle.forge.statuses import CommitStatus
from tingle.forge.writebudget import write_budget
from tingle.queue import connect

SHA = "c" * 40
TARGET = Target(build_id="7", repo="octo/app", sha=SHA)


def statuses(*contexts: str) -> list[CommitStatus]:
    return [CommitStatus("pending", "Build #7 queued", "http://t/builds/7", c) for c in contexts]


def web_publisher(settings: Settings) -> FeedbackPublisher:
    return FeedbackPublisher(connect(settings.redis_url), None)


def worker_publisher(settings: Settings) -> FeedbackPublisher:
    pool = connect(settings.redis_url)
    return FeedbackPublisher(pool, github_clients(settings), budget=write_budget(pool, settings))


async def carry(publishers: list[FeedbackPublisher], until: Any) -> None:
    carriers = [asyncio.create_task(p.carry_handoffs()) for p in publishers]
    try:
        await asyncio.to_thread(wait_for, until, 20, "hand-offs posted")
    finally:
        for task in carriers:
            task.cancel()
        for publisher in publishers:
            await publisher.drain()


def test_feedback_handed_over_by_the_web_is_posted_once_by_one_of_two_workers(
    settings: Settings, fake_github: Any
) -> None:
    contexts = ("tingle", "tingle/test", "tingle/image")

    async def scenario() -> None:
        await web_publisher(settings).publish_statuses(TARGET, statuses(*contexts))
        workers = [worker_publisher(settings), worker_publisher(settings)]
        await carry(workers, lambda: len(fake_github.statuses("octo/app", SHA)) >= 3)
        await asyncio.sleep(0.2)  # room for a wrong second post to arrive

    asyncio.run(scenario())
    posted = sorted(s["context"] for s in fake_github.statuses("octo/app", SHA))
    assert posted == sorted(contexts)
    client = redis.Redis.from_url(settings.redis_url)
    assert client.llen("tingle:feedback:handoff") == 0
    assert client.zcard("tingle:feedback:due") == 0


def test_the_handoff_list_is_bounded_and_what_falls_off_stays_due(
    settings: Settings, fake_github: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reporter, "HANDOFF_LENGTH", 2)
    contexts = [f"tingle/s{i}" for i in range(5)]
    asyncio.run(web_publisher(settings).publish_statuses(TARGET, statuses(*contexts)))
    client = redis.Redis.from_url(settings.redis_url)
    assert client.llen("tingle:feedback:handoff") == 2
    assert client.zcard("tingle:feedback:due") == 5

    async def sweep() -> int:
        return await worker_publisher(settings).sweep()  # the janitor's sweep posts the rest

    assert asyncio.run(sweep()) == 5
    assert len(fake_github.statuses("octo/app", SHA)) == 5


def test_writes_wait_for_the_shared_budget(settings: Settings, fake_github: Any) -> None:
    spaced = dataclasses.replace(settings, github_writes_per_second=5.0, github_write_burst=1)

    async def scenario() -> float:
        started = time.monotonic()
        publisher = worker_publisher(spaced)
        await publisher.publish_statuses(TARGET, statuses("tingle", "tingle/test", "tingle/deploy"))
        await publisher.drain()
        return time.monotonic() - started

    took = asyncio.run(scenario())
    assert len(fake_github.statuses("octo/app", SHA)) == 3
    assert took >= 2 / 5 * 0.9  # one write at once, then one every 1/5 s
