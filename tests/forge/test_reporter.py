"""The feedback publisher on a real Redis and the GitHub fake over HTTP: only the latest value
wanted is posted, and writes are spent from the shared budget."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

from arq.connections import ArqRedis

from tingle.forge.factory import github_clients
from tingle.forge.reporter import FeedbackPublisher, Target
from tingle.forge.statuses import CommitStatus
from tingle.forge.writebudget import write_budget
from tingle.queue import connect
from tingle.settings import Settings

SHA = "c" * 40
TARGET = Target(build_id="7", repo="octo/app", sha=SHA)


def statuses(*contexts: str) -> list[CommitStatus]:
    return [CommitStatus("pending", "Build #7 queued", "http://t/builds/7", c) for c in contexts]


def worker_publisher(pool: ArqRedis, settings: Settings) -> FeedbackPublisher:
    return FeedbackPublisher(pool, github_clients(settings), budget=write_budget(pool, settings))


def test_without_clients_feedback_waits_and_only_the_latest_value_is_posted(
    settings: Settings, fake_github: Any
) -> None:
    success = CommitStatus("success", "Build #7 passed", "http://t/builds/7", "tingle")

    async def scenario() -> int:
        async with connect(settings.redis_url) as pool, connect(settings.redis_url) as workers:
            waiting = FeedbackPublisher(pool, None)  # no credentials
            await waiting.publish_statuses(TARGET, statuses("tingle"))
            await waiting.publish_statuses(TARGET, [success])
            return await worker_publisher(workers, settings).sweep()  # a worker's janitor does

    assert asyncio.run(scenario()) == 1
    assert [(s["state"], s["description"]) for s in fake_github.statuses("octo/app", SHA)] == [
        ("success", "Build #7 passed")
    ]


def test_writes_wait_for_the_shared_budget(settings: Settings, fake_github: Any) -> None:
    spaced = dataclasses.replace(settings, github_writes_per_second=5.0, github_write_burst=1)

    async def scenario() -> float:
        started = time.monotonic()
        async with connect(spaced.redis_url) as pool:
            publisher = worker_publisher(pool, spaced)
            contexts = statuses("tingle", "tingle/test", "tingle/deploy")
            await publisher.publish_statuses(TARGET, contexts)
            await publisher.drain()
        return time.monotonic() - started

    took = asyncio.run(scenario())
    assert len(fake_github.statuses("octo/app", SHA)) == 3
    assert took >= 2 / 5 * 0.9  # one write at once, then one every 1/5 s


def test_statuses_of_an_older_version_of_the_build_never_replace_newer_ones(
    settings: Settings, fake_github: Any
) -> None:
    running = CommitStatus("pending", "Build #7 running", "http://t/builds/7", "tingle")

    async def scenario() -> int:
        async with connect(settings.redis_url) as pool, connect(settings.redis_url) as workers:
            waiting = FeedbackPublisher(pool, None)
            await waiting.publish_statuses(TARGET, [running], version=3)  # the worker running it
            await waiting.publish_statuses(TARGET, statuses("tingle"), version=2)  # late "queued"
            await waiting.publish_statuses(TARGET, statuses("tingle/test"), version=2)  # new one
            return await worker_publisher(workers, settings).sweep()

    assert asyncio.run(scenario()) == 2
    posted = {s["context"]: s["description"] for s in fake_github.statuses("octo/app", SHA)}
    assert posted == {"tingle": "Build #7 running", "tingle/test": "Build #7 queued"}


def test_a_builds_settled_statuses_are_forgotten_and_one_still_to_post_is_kept(
    settings: Settings, fake_github: Any
) -> None:
    """What Redis keeps of a build's statuses goes once GitHub has them (the archiver calls this),
    all of it once the build is gone (retention); a status GitHub has not got yet stays due."""

    def status_keys(pool: ArqRedis) -> Any:
        return pool.keys("tingle:feedback:*7*")

    async def scenario() -> tuple[int, int, list[bytes], list[bytes], int, list[bytes]]:
        async with connect(settings.redis_url) as pool:
            posting = worker_publisher(pool, settings)
            await posting.publish_statuses(TARGET, statuses("tingle", "tingle/test"))
            await posting.drain()
            await FeedbackPublisher(pool, None).publish_statuses(TARGET, statuses("tingle/deploy"))
            left = await posting.forget_statuses("7", settled_only=True)
            kept = sorted(await status_keys(pool))
            assert await pool.zscore(posting.due_key, "tingle:feedback:status:7:tingle/deploy")
            swept = await posting.sweep()  # GitHub gets it later; then it goes too
            assert await posting.forget_statuses("7", settled_only=True) == 0
            gone = sorted(await status_keys(pool))
            await FeedbackPublisher(pool, None).publish_statuses(TARGET, statuses("tingle/x"))
            forced = await posting.forget_statuses("7", settled_only=False)
            return left, swept, kept, gone, forced, sorted(await status_keys(pool))

    left, swept, kept, gone, forced, at_last = asyncio.run(scenario())
    assert left == 1 and swept == 1
    assert kept == [
        b"tingle:feedback:contexts:7",
        b"tingle:feedback:status:7:tingle/deploy:desired",
    ]
    assert gone == [] and forced == 0 and at_last == []
    assert {s["context"] for s in fake_github.statuses("octo/app", SHA)} == {
        "tingle", "tingle/test", "tingle/deploy"
    }  # fmt: skip
