"""StepLogWriter: bytes in arbitrary chunks become numbered lines, none lost, none repeated."""

from __future__ import annotations

import asyncio

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
