from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tingle.store import BuildStore


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[BuildStore]:
    client = Redis.from_url(redis_url)
    yield BuildStore(client)
    await client.aclose()
