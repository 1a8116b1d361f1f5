"""Admitting a build on a real Redis: one script claims the delivery, saves, queues and lanes it."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, cast

import redis
from arq.constants import job_key_prefix
from arq.jobs import deserialize_job

from tingle.build import Build, BuildState
from tingle.builds.admission import Admission, Admitter
from tingle.queue import connect
from tingle.store import BuildStore

QUEUE = "tingle:queue"


def new_build(**changes: Any) -> Build:
    build = Build(
        id="",
        repo="octo/app",
        sha="b" * 40,
        ref="refs/heads/main",
        event="push",
        clone_url="https://github.com/octo/app.git",
        branch="main",
    )
    return dataclasses.replace(build, **changes)


def admit(
    redis_url: str, build: Build, delivery_id: str | None, event_key: str | None = None
) -> tuple[Admission, Build | None]:
    async def run() -> tuple[Admission, Build | None]:
        pool = connect(redis_url)
        store = BuildStore(pool)
        try:
            admission = await Admitter(store, pool, QUEUE).admit(build, delivery_id, event_key)
            return admission, await store.get(admission.build_id)
        finally:
            await pool.aclose()

    return asyncio.run(run())


def test_a_new_delivery_is_saved_queued_indexed_and_laned(redis_url: str) -> None:
    build = new_build()
    admission, stored = admit(redis_url, build, "delivery-1")
    assert admission == Admission("1", created=True, older=[])
    assert build.id == "1" and stored == build and stored.version == 1
    client = redis.Redis.from_url(redis_url)
    assert client.zrange(QUEUE, 0, -1) == [b"build:1"]
    job_key = job_key_prefix + "build:1"
    job = deserialize_job(cast(bytes, client.get(job_key)))
    assert (job.function, job.args, job.kwargs) == ("run_build", (), {})
    assert cast(int, client.ttl(job_key)) > 23 * 3600  # arq's default expiry, 1 day
    assert client.zrange("tingle:builds", 0, -1) == [b"1"]
    assert client.zrange("tingle:repo:octo/app:builds", 0, -1) == [b"1"]
    assert client.zrange("tingle:repos", 0, -1) == [b"octo/app"]
    assert client.smembers("tingle:active") == {b"1"}
    assert client.get("tingle:delivery:delivery-1") == b"1"
    assert client.lrange("tingle:feedback:changed", 0, -1) == [b"1"]  # a worker posts `pending`
    assert 6 * 24 * 3600 < cast(int, client.ttl("tingle:delivery:delivery-1")) <= 7 * 24 * 3600


def test_a_redelivery_answers_the_first_build_and_makes_nothing(redis_url: str) -> None:
    admit(redis_url, new_build(), "delivery-1")
    again = new_build(sha="c" * 40)
    admission, stored = admit(redis_url, again, "delivery-1")
    assert admission == Admission("1", created=False, older=[])
    assert again.id == "" and stored is not None and stored.sha == "b" * 40
    client = redis.Redis.from_url(redis_url)
    assert client.get("tingle:build-seq") == b"1"
    assert client.zcard(QUEUE) == 1
    assert client.llen("tingle:feedback:changed") == 1


def test_a_held_build_is_saved_without_a_job(redis_url: str) -> None:
    admission, stored = admit(redis_url, new_build(state=BuildState.HELD), "delivery-1")
    assert stored is not None and stored.state is BuildState.HELD
    assert redis.Redis.from_url(redis_url).zcard(QUEUE) == 0
    assert admission.created


def test_the_lane_answers_its_unfinished_older_builds_newest_first(redis_url: str) -> None:
    for n in range(4):
        admit(redis_url, new_build(created_at=100.0 + n), f"delivery-{n}")
    redis.Redis.from_url(redis_url).srem("tingle:active", "2")  # build 2 has finished
    other_branch = new_build(branch="other", created_at=104.0)
    assert admit(redis_url, other_branch, "delivery-x")[0].older == []
    admission, _ = admit(redis_url, new_build(created_at=105.0), "delivery-5")
    assert admission.older == ["4", "3", "1"]


def test_without_a_delivery_every_admission_is_a_new_build(redis_url: str) -> None:
    first, _ = admit(redis_url, new_build(), None)
    second, _ = admit(redis_url, new_build(), None)
    assert (first.build_id, second.build_id) == ("1", "2")
    assert first.created and second.created


def test_the_same_event_under_a_new_delivery_is_a_duplicate_of_the_first_build(
    redis_url: str,
) -> None:
    admit(redis_url, new_build(), "delivery-1", "event-a")
    replay = new_build()
    admission, _ = admit(redis_url, replay, "delivery-2", "event-a")
    assert admission == Admission("1", created=False, older=[]) and replay.id == ""
    client = redis.Redis.from_url(redis_url)
    assert client.get("tingle:build-seq") == b"1" and client.zcard(QUEUE) == 1
    assert client.get("tingle:delivery:delivery-2") == b"1"  # its redelivery answers the same
    ttl = cast(int, client.ttl("tingle:event:event-a"))
    assert 3 * 24 * 3600 - 60 < ttl <= 3 * 24 * 3600 + 3600  # about GitHub's redelivery window
    assert admit(redis_url, new_build(), "delivery-3", "event-b")[0].created
