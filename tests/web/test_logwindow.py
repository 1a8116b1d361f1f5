"""Windows on a step's log, read from a real Redis: the tail, earlier lines, a line's
neighbourhood, and what follows an entry. Every test runs twice: on the live stream, and on the
same log archived to a blob store (tingle.archive), which must answer exactly the same."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tingle.archive.blobs import BlobStore
from tingle.archive.logs import ArchivedLog, LiveLog, log_path, pack
from tingle.store import BuildStore
from tingle.web.logwindow import Cursor, StepLog

OpenLog = Callable[[], Awaitable[StepLog]]


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[BuildStore]:
    client = Redis.from_url(redis_url)
    yield BuildStore(client)
    await client.aclose()


@pytest.fixture(params=["live", "archived"])
def open_log(request: pytest.FixtureRequest, store: BuildStore, tmp_path: Path) -> OpenLog:
    """The log of build 7's step 0 as written so far, live or archived."""

    async def opened() -> StepLog:
        if request.param == "live":
            return StepLog(LiveLog(store, "7", 0))
        blobs = BlobStore.open(str(tmp_path / "archive"))
        data, index = pack(await store.read_log("7", 0))
        await blobs.put(log_path("7", 0, "log"), data)
        return StepLog(ArchivedLog(blobs, "7", 0, index))

    return opened


async def write(store: BuildStore, total: int, per_entry: int) -> list[str]:
    """Lines "line 1".."line {total}", `per_entry` lines to a stream entry; returns entry ids."""
    ids = []
    for first in range(1, total + 1, per_entry):
        last = min(first + per_entry, total + 1)
        text = "\n".join(f"line {n}" for n in range(first, last))
        ids.append(await store.append_log("7", 0, first, text))
    return ids


def numbers(lines: list[str]) -> list[int]:
    return [int(line.removeprefix("line ")) for line in lines]


async def test_empty_log(store: BuildStore, open_log: OpenLog) -> None:
    window = await (await open_log()).tail(100)
    assert (window.first_line, window.lines, window.before, window.last_id) == (1, [], None, None)


async def test_tail_is_the_last_lines_and_resumes_after_the_newest_entry(
    store: BuildStore, open_log: OpenLog
) -> None:
    ids = await write(store, 1000, 30)
    window = await (await open_log()).tail(100)
    assert numbers(window.lines) == list(range(901, 1001))
    assert window.first_line == 901 and window.total_lines == 1000
    assert window.last_id == ids[-1]
    assert window.before is not None and window.before.line == 901


async def test_paging_back_reads_every_line_once(store: BuildStore, open_log: OpenLog) -> None:
    await write(store, 1000, 37)
    log = await open_log()
    window = await log.tail(64)
    seen = numbers(window.lines)
    while window.before is not None:
        window = await log.tail(64, window.before)
        assert window.last_id is None
        seen = numbers(window.lines) + seen
    assert seen == list(range(1, 1001))


async def test_paging_back_stops_at_the_lower_bound(store: BuildStore, open_log: OpenLog) -> None:
    await write(store, 500, 50)
    log = await open_log()
    tail = await log.tail(100)
    assert tail.before is not None
    window = await log.tail(1000, tail.before, min_line=350)
    assert numbers(window.lines) == list(range(350, 401))
    assert window.before is None


async def test_around_a_line_puts_it_in_the_first_quarter(
    store: BuildStore, open_log: OpenLog
) -> None:
    await write(store, 10_000, 256)
    log = await open_log()
    for line in (3, 2500, 7777, 9990):
        window = await log.around(line, 400)
        assert len(window.lines) == 400
        assert window.first_line <= line < window.end_line
        assert numbers(window.lines) == list(range(window.first_line, window.end_line))
    end = await log.around(9990, 400)
    assert end.end_line == 10_001 and end.last_id is not None


async def test_after_an_entry_gives_whole_entries(store: BuildStore, open_log: OpenLog) -> None:
    ids = await write(store, 100, 10)
    log = await open_log()
    window = await log.after(ids[3])
    assert numbers(window.lines) == list(range(41, 101))
    assert window.last_id == ids[-1]
    assert window.before == Cursor(ids[4], 41)
    assert (await log.after(ids[-1])).lines == []
