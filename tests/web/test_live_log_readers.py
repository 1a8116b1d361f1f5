"""Issue 14, item 4: many live-log readers, on real HTTP and a real Redis.

On the code before the change, each stream made its own blocking XREAD: 300 anonymous readers
held 300 Redis connections, and once Redis's client limit was reached webhooks answered 503. Now
the readers of one step share one read (tingle.web.log_fanout), each still gets every line once
from wherever it resumes, and streams are limited per client address and in all (429).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from starlette.applications import Starlette

from testing.payloads import push_payload, send
from testing.servers import serve_app
from tests.conftest import WEBHOOK_SECRET
from tests.web.records import Records, make_build
from tests.web.sse_client import aread_events
from tingle import metrics
from tingle.build import BuildState, StepState
from tingle.settings import Settings
from tingle.web.app import create_app
from tingle.web.http_server import server_options
from tingle.web.log_fanout import LogFanout
from tingle.web.sse_limits import SseLimits

READERS = 300


@pytest.fixture
def served(settings: Settings, request: pytest.FixtureRequest) -> Iterator[tuple[str, Starlette]]:
    overrides: dict[str, Any] = getattr(request, "param", {})
    tuned = dataclasses.replace(settings, **overrides)
    app = create_app(tuned)
    with serve_app(app, **server_options(tuned)) as url:
        yield url, app


def events_url(web: str, build_id: str, after: str) -> str:
    return f"{web}/api/builds/{build_id}/steps/0/events?after={after}"


async def wait_for(condition: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def read_to_end(client: httpx.AsyncClient, url: str) -> tuple[list[str], dict[str, Any]]:
    lines: list[str] = []
    async with client.stream("GET", url) as response:
        assert response.status_code == 200, await response.aread()
        async for event in aread_events(response):
            if event.name == "lines":
                lines += event.data["lines"]
            elif event.name == "end":
                return lines, event.data
    raise AssertionError(f"the stream ended without an end event, after {len(lines)} lines")


def redis_readers(redis_url: str) -> tuple[int, int]:
    """Clients of the Redis server (ours included), and how many of them are blocked in XREAD."""
    clients: list[dict[str, Any]] = redis.Redis.from_url(redis_url).client_list()  # type: ignore[assignment]
    return len(clients), sum(client.get("cmd") == "xread" for client in clients)


MANY = {"sse_per_address": 1000, "sse_total": 1000, "redis_max_connections": 16}


@pytest.mark.parametrize("served", [MANY], indirect=True)
async def test_three_hundred_readers_of_one_step_share_one_redis_read(
    served: tuple[str, Starlette], records: Records, settings: Settings
) -> None:
    url, app = served
    fanout: LogFanout = app.state.tingle.live_logs
    limits: SseLimits = app.state.tingle.sse_limits
    await asyncio.to_thread(records.save, make_build("601"))
    await asyncio.to_thread(records.append, "601", 0, ["line 1", "line 2"])  # entry 1-0
    await asyncio.to_thread(records.append, "601", 0, ["line 3"])  # entry 3-0
    # Readers resume from three places: the start, after the first entry, after the second.
    cursors = ["0-0", "1-0", "3-0"]
    limits_of_pool = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(limits=limits_of_pool, timeout=60) as client:
        readers = [
            asyncio.create_task(read_to_end(client, events_url(url, "601", cursors[i % 3])))
            for i in range(READERS)
        ]
        await wait_for(lambda: limits.count() == READERS)
        for n in range(20):  # the step goes on while they all read
            two = [f"line {4 + 2 * n}", f"line {5 + 2 * n}"]
            await asyncio.to_thread(records.append, "601", 0, two)
            await asyncio.sleep(0.05)
        connections, blocked = await asyncio.to_thread(redis_readers, settings.redis_url)
        delivered = await asyncio.to_thread(
            send, url, "push", push_payload("octo/app", "b" * 40), secret=WEBHOOK_SECRET
        )
        await asyncio.to_thread(records.append, "601", 0, ["the last line"])
        await asyncio.to_thread(records.finish, "601", BuildState.SUCCESS, StepState.SUCCESS)
        results = await asyncio.gather(*readers)

    everything = [f"line {n}" for n in range(1, 44)] + ["the last line"]
    expected = {"0-0": everything, "1-0": everything[2:], "3-0": everything[3:]}
    for i, (lines, end) in enumerate(results):
        assert lines == expected[cursors[i % 3]], f"reader {i} from {cursors[i % 3]}"
        assert end == {"state": "success", "build_state": "success"}
    print(
        f"{READERS} readers: {fanout.feeds_started} feed, {fanout.reads} XREADs, "
        f"{connections} Redis clients in all, {blocked} blocked in XREAD"
    )
    assert fanout.feeds_started == 1
    assert blocked <= 1  # the one shared read (none, the moment it had just returned)
    # This web app's two bounded pools (16 and TINGLE_REDIS_LIVE_LOG_CONNECTIONS), and the test's
    # own few clients: never a connection per reader.
    assert connections <= 16 + Settings().redis_live_log_connections + 4
    assert delivered.status_code == 202, delivered.text
    await wait_for(lambda: limits.count() == 0)


@pytest.mark.parametrize("served", [{"sse_per_address": 2, "sse_total": 3}], indirect=True)
async def test_streams_are_limited_per_address_and_in_all(
    served: tuple[str, Starlette], records: Records
) -> None:
    url, app = served
    limits: SseLimits = app.state.tingle.sse_limits
    await asyncio.to_thread(records.save, make_build("602"))
    stream = events_url(url, "602", "0-0")
    before = metrics.REGISTRY.get_sample_value("tingle_sse_refused_total", {"limit": "per_address"})
    other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")  # a second client address
    async with (
        contextlib.AsyncExitStack() as held,
        httpx.AsyncClient(timeout=10) as here,
        httpx.AsyncClient(timeout=10, transport=other) as there,
    ):

        async def open_stream(client: httpx.AsyncClient) -> httpx.Response:
            return await held.enter_async_context(client.stream("GET", stream))

        first = await open_stream(here)
        assert [first.status_code, (await open_stream(here)).status_code] == [200, 200]
        refused = await open_stream(here)
        assert refused.status_code == 429
        assert refused.headers["retry-after"].isdigit()
        assert (await refused.aread()) and refused.json()["limit"] == "per_address"
        assert (await open_stream(there)).status_code == 200
        full = await open_stream(there)
        assert (full.status_code, (await full.aread()) and full.json()["limit"]) == (429, "total")

        await first.aclose()  # a stream that ends gives its place back
        await wait_for(lambda: limits.count() == 2)
        assert (await open_stream(there)).status_code == 200
    after = metrics.REGISTRY.get_sample_value("tingle_sse_refused_total", {"limit": "per_address"})
    assert (after or 0) - (before or 0) == 1


async def test_a_reader_that_falls_behind_is_let_go_and_the_feed_ends_with_its_last_reader(
    redis_url: str, records: Records
) -> None:
    from redis.asyncio import Redis

    from tingle.store import BuildStore

    await asyncio.to_thread(records.save, make_build("603"))
    client = Redis.from_url(redis_url)
    store = BuildStore(client)
    fanout = LogFanout(store, store, block_ms=100, queue_chunks=2)
    try:
        async with fanout.subscribe("603", 0) as reader:
            await wait_for(lambda: reader.joined_at is not None)
            for n in range(5):  # it reads none of them
                await asyncio.to_thread(records.append, "603", 0, [f"line {n}"])
            await wait_for(lambda: reader.dropped)
            assert reader.queue.qsize() == 2  # what it was given before: it ends after those
        await wait_for(lambda: not fanout._feeds)  # no reader left: the feed stopped reading
    finally:
        await fanout.close()
        await client.aclose()
