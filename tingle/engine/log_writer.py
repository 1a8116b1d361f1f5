"""Turns a step's raw output (bytes, in arbitrary chunks) into numbered lines in the store.

Lines are batched: one Redis write per flush interval or per `max_batch_bytes`, not per line, so a
step printing 100,000 lines costs a few hundred writes. A line split across chunks, or a UTF-8
character split across chunks, is joined before it is stored.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
from typing import Protocol


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
    ) -> None:
        self._sink = sink
        self._build_id = build_id
        self._step_index = step_index
        self._flush_interval = flush_interval
        self._max_batch_bytes = max_batch_bytes
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""  # text after the last newline, not yet a whole line
        self._pending: list[str] = []  # whole lines not yet stored
        self._pending_bytes = 0
        self._next_line = 1
        self._lock = asyncio.Lock()
        self._ticker: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._max_bytes = max_bytes
        self._stored_bytes = 0
        self.dropped_lines = 0
        self.line_count = 0

    async def __aenter__(self) -> StepLogWriter:
        self._ticker = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def write(self, data: bytes) -> None:
        text = self._partial + self._decoder.decode(data)
        *lines, self._partial = text.split("\n")
        if lines:
            self._keep(lines)
            if self._pending_bytes >= self._max_batch_bytes:
                await self.flush()

    @property
    def truncated(self) -> bool:
        return self.dropped_lines > 0

    def _keep(self, lines: list[str]) -> None:
        """Queue lines for storage while under the cap; past it, only count them."""
        for line in lines:
            size = len(line) + 1
            if self._max_bytes is not None and self._stored_bytes + size > self._max_bytes:
                self.dropped_lines += 1
                continue
            self._stored_bytes += size
            self._pending.append(line)
            self._pending_bytes += size

    async def write_line(self, line: str) -> None:
        """A line of Tingle's own (e.g. '+ command' or a timeout notice), in order with output."""
        await self.write((line + "\n").encode())

    async def flush(self) -> None:
        async with self._lock:
            if not self._pending:
                return
            lines, self._pending, self._pending_bytes = self._pending, [], 0
            first = self._next_line
            self._next_line += len(lines)
            self.line_count += len(lines)
            await self._sink.append_log(self._build_id, self._step_index, first, "\n".join(lines))

    async def close(self) -> None:
        # Stop the ticker by asking, never by cancelling: a cancel landing inside its flush would
        # drop the batch being written.
        self._closing.set()
        if self._ticker is not None:
            await self._ticker
            self._ticker = None
        tail = self._partial + self._decoder.decode(b"", final=True)
        self._partial = ""
        if tail:
            self._keep([tail])
        if self.dropped_lines:  # always stored, past the cap: readers must see the log is cut
            self._pending.append(
                f"tingle: log truncated at {self._max_bytes} bytes; "
                f"{self.dropped_lines} more lines were not kept"
            )
        await self.flush()

    async def _tick(self) -> None:
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self._flush_interval)
            await self.flush()
