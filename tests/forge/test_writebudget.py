"""The shared GitHub write budget, on a real Redis: a burst goes at once, then writes wait their
turn; processes share one bucket per identity; idle buckets vanish; no limit means no Redis.

Waits are asserted from the values `acquire` returns, with generous bounds, never from the clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tingle.forge.writebudget import WriteBudget, identity_for, write_budget
from tingle.settings import Settings

RATE = 20.0  # writes a second: a refill every 50 ms keeps these tests fast
BURST = 2


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


def budget(redis: Redis, *, per_second: float = RATE, burst: int = BURST) -> WriteBudget:
    return WriteBudget(redis, prefix="tingle", per_second=per_second, burst=burst)


async def test_a_burst_goes_at_once_then_writes_wait_for_a_refill(redis: Redis) -> None:
    writes = budget(redis)
    assert [await writes.acquire("token") for _ in range(BURST)] == [0.0] * BURST
    waited = await writes.acquire("token")
    assert 0 < waited < 20 / RATE  # about 1/RATE; bounded loosely


async def test_two_processes_share_one_budget(redis: Redis, redis_url: str) -> None:
    other_client = Redis.from_url(redis_url)  # another process: its own client and script
    try:
        web, worker = budget(redis), budget(other_client)
        assert await web.acquire("token") == 0.0
        assert await worker.acquire("token") == 0.0
        assert await web.acquire("token") > 0
        assert await worker.acquire("token") > 0
    finally:
        await other_client.aclose()


async def test_concurrent_waiters_all_get_through(redis: Redis) -> None:
    writes = budget(redis)
    waits = await asyncio.wait_for(
        asyncio.gather(*(writes.acquire("token") for _ in range(BURST + 4))), timeout=30
    )
    assert sorted(waits)[:BURST] == [0.0] * BURST
    assert all(wait > 0 for wait in sorted(waits)[BURST:])


async def test_identities_have_budgets_of_their_own(redis: Redis) -> None:
    writes = budget(redis)
    for _ in range(BURST):
        await writes.acquire(identity_for(1))
    assert await writes.acquire(identity_for(2)) == 0.0
    assert await writes.acquire(identity_for(None)) == 0.0
    assert await writes.acquire(identity_for(1)) > 0


def test_identity_names() -> None:
    assert identity_for(None) == "token"
    assert identity_for(42) == "installation-42"


async def test_no_limit_never_touches_redis() -> None:
    nowhere = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)  # nothing listens
    writes = budget(nowhere, per_second=0.0)
    assert [await writes.acquire("token") for _ in range(100)] == [0.0] * 100
    await nowhere.aclose()


async def test_an_idle_bucket_expires(redis: Redis) -> None:
    writes = budget(redis)
    key = writes.key("token")
    assert key == "tingle:github-writes:token"
    await writes.acquire("token")
    ttl = await redis.pttl(key)
    assert 0 < ttl <= 1000 * BURST / RATE  # as long as an empty bucket takes to fill
    for _ in range(200):
        if not await redis.exists(key):
            break
        await asyncio.sleep(0.05)
    assert not await redis.exists(key)
    # ...and a bucket that is gone is a full one again.
    assert [await writes.acquire("token") for _ in range(BURST)] == [0.0] * BURST


async def test_a_burst_below_one_is_refused(redis: Redis) -> None:
    with pytest.raises(ValueError, match="burst"):
        budget(redis, burst=0)


def test_settings_make_the_budget(redis_url: str) -> None:
    settings = Settings.from_env(
        {
            "TINGLE_GITHUB_WRITES_PER_SECOND": "2.5",
            "TINGLE_GITHUB_WRITE_BURST": "3",
            "TINGLE_KEY_PREFIX": "other",
        }
    )
    assert (settings.github_writes_per_second, settings.github_write_burst) == (2.5, 3)
    assert (Settings().github_writes_per_second, Settings().github_write_burst) == (1.0, 8)
    made = write_budget(Redis.from_url(redis_url), settings)
    assert made.key("token") == "other:github-writes:token"
