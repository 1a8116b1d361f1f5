"""Turns a step's raw output (bytes, in arbitrary chunks) into numbered lines in the store.

Lines are batched: one Redis write per flush interval or per `max_batch_bytes`, not per line, so a
step printing 100,000 lines costs a few hundred writes. A line split across chunks, or a UTF-8
character split across chunks, is joined before it is stored; a line longer than the line limit is
cut (tingle.engine.log_lines). What is stored is capped per step and per build (LogBudget): past a
cap, output is only counted, and the log ends with a line saying which cap cut it and how much was
not kept.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from tingle.engine.log_budget import LogBudget
from tingle.engine.log_lines import LINE_LIMIT, LineCutter, Lines


class LogSink(Protocol):
    async def append_log(
        self, build_id: str, step_index: int, first_line: int, text: str
    ) -> str: ...


class StepLogWriter:
    def __init__(
        self,
        sink: LogSink,
        build_id: str,
        step_index: int,
        *,
        flush_interval: float = 0.05,
        max_batch_bytes: int = 256 * 1024,
        max_bytes: int | None = None,
        build_budget: LogBudget | None = None,
        line_limit: int = LINE_LIMIT,
    ) -> None:
        self._sink = sink
        self._build_id = build_id
        self._step_index = step_index
        self._flush_interval = flush_interval
        self._max_batch_bytes = max_batch_bytes
        self._lines = LineCutter(line_limit)
        self._pending: list[str] = []  # whole lines not yet stored
        self._pending_bytes = 0
        self._pending_lines = 0  # lines in _pending (an entry may hold a run of lines)
        self._next_line = 1
        self._lock = asyncio.Lock()
        self._ticker: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._budgets = [LogBudget(max_bytes, "step")]
        if build_budget is not None:
            self._budgets.append(build_budget)
        self._full: LogBudget | None = None  # the budget that ran out; then output is counted
        self._dropped_open = False  # past the cap, output since the last newline was counted
        self.dropped_lines = 0  # lines not stored: a budget ran out
        self._dropped_bytes = 0  # bytes of output of those lines
        self.cut_lines = 0  # lines stored cut at the line limit
        self.cut_bytes = 0  # bytes cut from them
        self.line_count = 0

    async def __aenter__(self) -> StepLogWriter:
        self._ticker = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def write(self, data: bytes) -> None:
        if self._full is not None:
            self._count_dropped(data)
            return
        self._keep(self._lines.feed(data))
        if self._pending_bytes >= self._max_batch_bytes:
            await self.flush()

    @property
    def truncated(self) -> bool:
        """Whether a cap cut the log (lines cut at the line limit say so on the line itself)."""
        return self.dropped_lines > 0

    @property
    def dropped_bytes(self) -> int:
        """Bytes of the step's output not stored: past a cap, or cut from long lines."""
        return self._dropped_bytes + self.cut_bytes

    def _keep(self, found: list[Lines]) -> None:
        """Queue lines for storage while every budget has room; past one, only count them."""
        for lines in found:
            if self._full is None:
                self._store(lines)
            else:
                self.dropped_lines += lines.number
                self._dropped_bytes += lines.size
        if self._full is not None and self._lines.open:  # the rest is counted (_count_dropped)
            taken = self._lines.abandon()
            self._dropped_bytes += taken
            self._dropped_open = taken > 0

    def _store(self, lines: Lines) -> None:
        size = stored_size(lines.text)
        full = next((b for b in self._budgets if not b.fits(size)), None)
        if full is not None and lines.number > 1:  # a cap falls inside the run: keep what fits
            self._keep(lines.split())
            return
        self._full = full
        if self._full is not None:
            # The log ends here: no shorter line after it gets in, in this step (_full) or, when
            # the build's budget ran out, in any later step of the build.
            self._full.exhaust()
            self.dropped_lines += 1
            self._dropped_bytes += lines.size
            return
        for budget in self._budgets:
            budget.spend(size)
        self._pending.append(lines.text)
        self._pending_bytes += size
        self._pending_lines += lines.number
        if lines.cut:
            self.cut_lines += 1
            self.cut_bytes += lines.cut

    def _count_dropped(self, data: bytes) -> None:
        """Past a cap: count the lines and bytes, in C, without decoding or keeping anything."""
        self._dropped_bytes += len(data)
        self.dropped_lines += data.count(b"\n")
        if data:
            self._dropped_open = not data.endswith(b"\n")

    async def write_line(self, line: str) -> None:
        """A line of Tingle's own (e.g. a timeout notice), in order with the output but on a line
        of its own: output the step left without a newline ends first."""
        self._end_open_line()
        await self.write((line + "\n").encode())

    def _end_open_line(self) -> None:
        if self._full is None:
            tail = self._lines.finish()
            if tail is not None:
                self._keep([tail])
        elif self._dropped_open:
            self.dropped_lines += 1
            self._dropped_open = False

    async def flush(self) -> None:
        async with self._lock:
            if not self._pending:
                return
            lines, count = self._pending, self._pending_lines
            self._pending, self._pending_bytes, self._pending_lines = [], 0, 0
            first = self._next_line
            self._next_line += count
            self.line_count += count
            await self._sink.append_log(self._build_id, self._step_index, first, "\n".join(lines))

    async def close(self) -> None:
        # Stop the ticker by asking, never by cancelling: a cancel landing inside its flush would
        # drop the batch being written.
        self._closing.set()
        if self._ticker is not None:
            await self._ticker
            self._ticker = None
        self._end_open_line()
        if self._full is not None:  # always stored, past the cap: readers must see the log is cut
            self._pending.append(self._full.notice(self.dropped_lines, self._dropped_bytes))
            self._pending_lines += 1
        await self.flush()

    async def _tick(self) -> None:
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self._flush_interval)
            await self.flush()


def stored_size(text: str) -> int:
    """Bytes the line takes in the store, its newline included: its UTF-8, not its characters."""
    return (len(text) if text.isascii() else len(text.encode())) + 1
