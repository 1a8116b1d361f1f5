"""StepLogWriter: bytes in arbitrary chunks become numbered lines, none lost, none repeated."""

from __future__ import annotations

import asyncio
import tracemalloc

from tingle.engine.log_budget import LogBudget
from tingle.engine.log_lines import LINE_LIMIT
from tingle.engine.log_writer import StepLogWriter


class SlowSink:
    """Stores batches like BuildStore.append_log, slowly, so flushes overlap with writes."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.batches: list[tuple[int, str]] = []

    async def append_log(self, build_id: str, step_index: int, first_line: int, text: str) -> str:
        await asyncio.sleep(self.delay)
        self.batches.append((first_line, text))
        return f"{len(self.batches)}-0"

    def lines(self) -> list[str]:
        expected_first = 1
        lines: list[str] = []
        for first, text in self.batches:
            assert first == expected_first, "batches must be consecutive"
            batch = text.split("\n")
            expected_first += len(batch)
            lines.extend(batch)
        return lines


async def test_lines_split_across_chunks_and_utf8_split_across_chunks_are_joined() -> None:
    sink = SlowSink()
    data = "première ligne\nsecond line, héhé\nthird\npartial tail".encode()
    async with StepLogWriter(sink, "1", 0) as writer:
        for i in range(len(data)):  # one byte at a time: splits every character and line
            await writer.write(data[i : i + 1])
    assert sink.lines() == ["première ligne", "second line, héhé", "third", "partial tail"]


async def test_close_during_a_slow_flush_loses_nothing() -> None:
    sink = SlowSink(delay=0.03)
    async with StepLogWriter(sink, "1", 0, flush_interval=0.01) as writer:
        for n in range(2000):
            await writer.write(f"line {n}\n".encode())
            if n % 100 == 0:
                await asyncio.sleep(0.015)  # let the ticker start flushes mid-stream
    assert sink.lines() == [f"line {n}" for n in range(2000)]
    assert writer.line_count == 2000


async def test_large_output_is_written_in_few_batches() -> None:
    sink = SlowSink()
    async with StepLogWriter(sink, "1", 0, flush_interval=10) as writer:
        for n in range(100_000):
            await writer.write(f"{n:06d} some log text\n".encode())
    assert len(sink.lines()) == 100_000
    assert len(sink.batches) < 20  # batched by size, not written line by line


async def test_invalid_utf8_is_replaced_not_fatal() -> None:
    sink = SlowSink()
    async with StepLogWriter(sink, "1", 0) as writer:
        await writer.write(b"ok\n\xff\xfebad\n")
    assert sink.lines() == ["ok", "\ufffd\ufffdbad"]


async def test_a_batch_written_twice_is_stored_once(redis_url: str) -> None:
    """A retry after a lost reply re-sends a batch Redis already stored: the entry id, made of the
    batch's first line number, makes the second write a no-op."""
    from tingle.queue import connect
    from tingle.store import BuildStore

    pool = connect(redis_url)
    store = BuildStore(pool)
    first = await store.append_log("9", 0, 1, "one\ntwo")
    again = await store.append_log("9", 0, 1, "one\ntwo")
    await store.append_log("9", 0, 3, "three")
    assert first == again == "1-0"
    assert await store.log_text("9", 0) == "one\ntwo\nthree"
    await pool.aclose()


# --- long lines (issue 14, item 4): cut at the line limit, in work linear in the output --------

MARKER = " [tingle: line cut at {limit} bytes; {dropped} more bytes not kept]"


async def test_200_mb_without_a_newline_is_one_cut_line_and_the_next_line_keeps_its_number() -> (
    None
):
    """On the code before, each chunk was joined to the open line: 200 MB in 64 KiB chunks
    copied about 300 GB and held the whole line. Now the line keeps LINE_LIMIT bytes and the
    rest is only counted: at no point does the writer hold more than a few chunks."""
    sink = SlowSink()
    chunk = b"x" * 65536
    chunks = 200_000_000 // len(chunk) + 1
    total = chunks * len(chunk)
    tracemalloc.start()
    try:
        async with StepLogWriter(sink, "1", 0) as writer:
            for _ in range(chunks):
                await writer.write(chunk)
            await writer.write(b"\nthe next line\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    cut = "x" * LINE_LIMIT + MARKER.format(limit=LINE_LIMIT, dropped=total - LINE_LIMIT)
    assert sink.lines() == [cut, "the next line"]  # line 1, then line 2
    assert writer.line_count == 2
    assert (writer.cut_lines, writer.dropped_bytes) == (1, total - LINE_LIMIT)
    assert not writer.truncated  # no cap cut the log: the line says itself that it was cut
    assert peak < 8 * LINE_LIMIT  # the dropped text was never kept, nor joined to anything


async def test_a_chunk_of_nothing_but_newlines_is_that_many_empty_lines() -> None:
    sink = SlowSink()
    async with StepLogWriter(sink, "1", 0) as writer:
        await writer.write(b"open")
        await writer.write(b"\n" * 65536)  # the first ends "open"
        await writer.write(b"\n" * 3 + b"last")
    assert sink.lines() == ["open", *[""] * 65535, "", "", "", "last"]
    assert writer.line_count == 65536 + 3 + 1


async def test_a_line_exactly_at_the_limit_is_kept_whole_and_one_byte_more_is_cut() -> None:
    for split in (False, True):  # in one chunk, and a byte at a time
        sink = SlowSink()
        data = b"a" * 8 + b"\n" + b"b" * 9 + b"\nend"
        async with StepLogWriter(sink, "1", 0, line_limit=8) as writer:
            for piece in [data[i : i + 1] for i in range(len(data))] if split else [data]:
                await writer.write(piece)
        assert sink.lines() == ["a" * 8, "b" * 8 + MARKER.format(limit=8, dropped=1), "end"]
        assert (writer.cut_lines, writer.cut_bytes) == (1, 1)


async def test_a_cut_never_splits_a_character_split_across_chunks_or_not() -> None:
    """7 ASCII bytes, then é (2 bytes) on bytes 8 and 9, then a 4-byte 😀 across the next limit."""
    for split in (False, True):
        sink = SlowSink()
        data = "aaaaaaaé!\nbbbbb😀!\n".encode()
        async with StepLogWriter(sink, "1", 0, line_limit=8) as writer:
            for piece in [data[i : i + 1] for i in range(len(data))] if split else [data]:
                await writer.write(piece)
        # The character the cut falls inside is left out whole, and counted as not kept.
        assert sink.lines() == [
            "aaaaaaa" + MARKER.format(limit=8, dropped=3),
            "bbbbb" + MARKER.format(limit=8, dropped=5),
        ]


async def test_the_last_line_without_a_newline_is_stored_at_close_cut_or_not() -> None:
    sink = SlowSink()
    async with StepLogWriter(sink, "1", 0, line_limit=8) as writer:
        await writer.write(b"short\n" + b"c" * 20)
    assert sink.lines() == ["short", "c" * 8 + MARKER.format(limit=8, dropped=12)]
    sink = SlowSink()
    async with StepLogWriter(sink, "1", 0) as writer:
        await writer.write("tail é".encode()[:-1])  # ends inside a character: it never came
    assert sink.lines() == ["tail \ufffd"]


async def test_tingles_own_line_starts_a_line_of_its_own() -> None:
    sink = SlowSink()
    async with StepLogWriter(sink, "1", 0, line_limit=40) as writer:
        await writer.write(b"y" * 100)  # the step is killed mid-line
        await writer.write_line("tingle: step timed out after 10s")
    assert sink.lines() == [
        "y" * 40 + MARKER.format(limit=40, dropped=60),
        "tingle: step timed out after 10s",
    ]


# --- log caps: per step (TINGLE_STEP_LOG_LIMIT) and per build (TINGLE_BUILD_LOG_LIMIT) ----------


async def test_a_cap_inside_a_chunk_of_short_lines_keeps_exactly_the_lines_that_fit() -> None:
    sink = SlowSink()
    data = "".join(f"{n}\n" for n in range(1, 5001)).encode()
    async with StepLogWriter(sink, "1", 0, max_bytes=1000) as writer:
        await writer.write(data)  # one chunk: the lines are decoded as a run, then split at the cap
    *kept, notice = sink.lines()
    assert kept == [str(n) for n in range(1, len(kept) + 1)]
    assert 1000 - 5 < sum(len(line) + 1 for line in kept) <= 1000  # the next line did not fit
    stored = sum(len(line) + 1 for line in kept)
    assert notice == (
        f"tingle: log truncated at 1000 bytes; {5000 - len(kept)} more lines "
        f"({len(data) - stored} bytes) were not kept"
    )
    assert writer.truncated


async def test_the_cap_counts_bytes_not_characters_and_leaves_no_holes() -> None:
    sink = SlowSink()
    async with StepLogWriter(sink, "1", 0, max_bytes=12) as writer:
        await writer.write("ééééé\n".encode())  # 5 characters, 11 bytes with the newline
        await writer.write(b"\xff\n")  # stored as U+FFFD: 4 bytes, past the cap
        await writer.write(b"\n")  # 1 byte would fit, but the log ends at the first cut
    assert sink.lines() == [
        "ééééé",
        "tingle: log truncated at 12 bytes; 2 more lines (3 bytes) were not kept",
    ]


async def test_output_after_the_builds_cap_is_only_counted_in_every_later_step() -> None:
    """Three steps share a build budget of 100 bytes: the first fits, the second reaches the cap
    mid-way, and the third stores nothing but the notice, also for its last partial line."""
    budget = LogBudget(100, "build")
    async with StepLogWriter(SlowSink(), "1", 0, build_budget=budget) as first:
        await first.write(b"a" * 59 + b"\n")  # 60 bytes
    sink = SlowSink()
    async with StepLogWriter(sink, "1", 1, build_budget=budget) as second:
        await second.write(b"b" * 29 + b"\n" + b"c" * 19 + b"\nmore\nand a partial line")
    third_sink = SlowSink()
    async with StepLogWriter(third_sink, "1", 2, build_budget=budget) as third:
        await third.write(b"d\n")
        await third.write(b"e" * 10_000)  # past the cap: counted, nothing decoded or kept
        await third.write(b"\nf")
    cap = "tingle: log truncated: the build's logs reached their cap of 100 bytes"
    assert second.line_count == 2  # "bbb…" and the notice
    assert sink.lines() == ["b" * 29, f"{cap}; 3 more lines (43 bytes) were not kept"]
    assert third_sink.lines() == [f"{cap}; 3 more lines (10004 bytes) were not kept"]
    assert (third.truncated, third.dropped_lines, third.dropped_bytes) == (True, 3, 10004)
    assert budget.used == 90


async def test_a_steps_own_cap_leaves_the_builds_budget_to_later_steps() -> None:
    budget = LogBudget(1000, "build")
    async with StepLogWriter(SlowSink(), "1", 0, max_bytes=10, build_budget=budget) as first:
        await first.write(b"0123456789abc\n")
    sink = SlowSink()
    async with StepLogWriter(sink, "1", 1, max_bytes=10, build_budget=budget) as second:
        await second.write(b"fits\n")
    assert first.truncated and not second.truncated
    assert sink.lines() == ["fits"]


async def test_a_long_line_is_cut_before_it_meets_the_cap() -> None:
    """The cut part is not stored, so it does not spend the cap: the kept part and marker do."""
    sink = SlowSink()
    async with StepLogWriter(sink, "1", 0, max_bytes=200, line_limit=16) as writer:
        await writer.write(b"z" * 1_000_000 + b"\nnext\n")
    marker = MARKER.format(limit=16, dropped=1_000_000 - 16)
    assert sink.lines() == ["z" * 16 + marker, "next"]
    assert not writer.truncated
