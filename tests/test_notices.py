"""Build notices on a real Redis and the GitHub fake: the web app tells, one worker publishes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis

from tests.support.notices import follow_notices
from tingle.build import Build
from tingle.builds import notices
from tingle.builds.notices import BuildNotices
from tingle.queue import connect
from tingle.settings import Settings
from tingle.store import BuildStore


def a_build(build_id: str) -> Build:
    return Build(build_id, "octo/app", f"{build_id:0>40}", "refs/heads/main", "push", "")


def test_each_build_told_gets_its_status_once_from_one_of_two_workers(
    settings: Settings, fake_github: Any
) -> None:
    async def tell() -> None:
        pool = connect(settings.redis_url)
        store, told = BuildStore(pool), BuildNotices(pool, "tingle")
        for build_id in ("1", "2", "3"):
            await store.save(a_build(build_id))
            await told.tell(build_id)
        await told.tell("404")  # a build that is not there: skipped
        await pool.aclose()

    asyncio.run(tell())
    shas = [f"{i:0>40}" for i in ("1", "2", "3")]

    def posted() -> bool:
        return all(fake_github.statuses("octo/app", sha) for sha in shas)

    follow_notices(settings, posted, followers=2)
    for sha in shas:
        assert [s["state"] for s in fake_github.statuses("octo/app", sha)] == ["pending"]
    assert redis.Redis.from_url(settings.redis_url).llen("tingle:feedback:changed") == 0


def test_notices_are_capped_while_no_worker_follows(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notices, "NOTICES_KEPT", 3)

    async def tell() -> None:
        pool = connect(settings.redis_url)
        for n in range(5):
            await BuildNotices(pool, "tingle").tell(str(n))
        await pool.aclose()

    asyncio.run(tell())
    kept = redis.Redis.from_url(settings.redis_url).lrange("tingle:feedback:changed", 0, -1)
    assert kept == [b"2", b"3", b"4"]
