"""Windows on a step's log, so a 50 MB log never travels whole to a page.

A log is a Redis stream whose entries each hold consecutive lines (`n`: the first line's number).
A window is a run of consecutive lines; `before` says where the lines in front of it start (the
entry holding its first line), so earlier parts are read backwards from there on demand, and
`last_id` (set when the window reaches the end of the log) is where live lines resume from.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from tingle.archive.logs import LogSource
from tingle.store import LogChunk

PAGE_ENTRIES = 16  # stream entries read per round trip; an entry holds up to 256 KB of lines


@dataclass(frozen=True)
class Cursor:
    id: str  # the stream entry that holds `line`
    line: int  # the window's first line: earlier lines are those before it


@dataclass(frozen=True)
class LogWindow:
    first_line: int
    lines: list[str]
    before: Cursor | None  # None: nothing earlier (down to the lower bound asked for)
    last_id: str | None  # the newest entry, when the window reaches the end of the log
    total_lines: int

    @property
    def end_line(self) -> int:
        return self.first_line + len(self.lines)


@dataclass(frozen=True)
class StepLog:
    source: LogSource  # live (Redis) or archived (tingle.archive.logs): read the same way

    async def newest(self) -> LogChunk | None:
        chunks = await self.source.read_back("+", count=1)
        return chunks[0] if chunks else None

    async def _back(self, upto: str) -> AsyncIterator[LogChunk]:
        """Entries from `upto` (inclusive) towards the start, newest first. One entry first, then
        twice as many each round trip: a tail is usually in the first entry or two."""
        count = 1
        while True:
            chunks = await self.source.read_back(upto, count=count)
            for chunk in chunks:
                yield chunk
            if len(chunks) < count:
                return
            upto = f"({chunks[-1].id}"
            count = min(count * 2, PAGE_ENTRIES)

    async def tail(self, count: int, before: Cursor | None = None, min_line: int = 1) -> LogWindow:
        """The last `count` lines (before `before`, if given), none below `min_line`."""
        newest = await self.newest()
        total = _end(newest) - 1 if newest else 0
        stop = before.line if before else total + 1
        # (entry id, its first line, lines), newest first
        taken: list[tuple[str, int, list[str]]] = []
        have = 0
        async for chunk in self._back(before.id if before else "+"):
            lines = chunk.lines[: max(0, stop - chunk.first_line)]
            start = max(chunk.first_line, min_line)
            lines = lines[start - chunk.first_line :]
            if lines:
                taken.append((chunk.id, start, lines))
                have += len(lines)
            if have >= count or chunk.first_line <= min_line:
                break
        if not taken:
            last_id = newest.id if newest and before is None else None
            return LogWindow(stop, [], None, last_id, total)
        entry_id, first, oldest = taken[-1]
        extra = max(0, have - count)
        taken[-1] = (entry_id, first + extra, oldest[extra:])
        first += extra
        lines = [line for _, _, part in reversed(taken) for line in part]
        earlier = Cursor(entry_id, first) if first > min_line else None
        last_id = newest.id if newest and stop > total else None
        return LogWindow(first, lines, earlier, last_id, total)

    async def around(self, line: int, count: int) -> LogWindow:
        """`count` lines with `line` in their first quarter (for a link to `#step-N-L<line>`)."""
        newest = await self.newest()
        if newest is None:
            return LogWindow(1, [], None, None, 0)
        total = _end(newest) - 1
        end = min(max(line, 1) - count // 4 + count, total + 1)
        end = max(end, min(count, total) + 1)
        holder = await self._entry_holding(end - 1, newest)
        return await self.tail(count, Cursor(holder, end))

    async def _entry_holding(self, line: int, newest: LogChunk) -> str:
        if line >= newest.first_line:
            return newest.id
        if line > newest.first_line // 2:  # nearer the end: read backwards
            async for chunk in self._back("+"):
                if chunk.first_line <= line:
                    return chunk.id
        after = "-"
        while chunks := await self.source.read(after=after, count=PAGE_ENTRIES):
            for chunk in chunks:
                if _end(chunk) > line:
                    return chunk.id
            after = chunks[-1].id
        return newest.id

    async def after(self, entry_id: str, max_entries: int = 64) -> LogWindow:
        """Whole entries after `entry_id` ("-": from the start), oldest first."""
        chunks = await self.source.read(after=entry_id, count=max_entries)
        newest = await self.newest()
        total = _end(newest) - 1 if newest else 0
        if not chunks:
            return LogWindow(total + 1, [], None, entry_id if entry_id != "-" else None, total)
        lines = [line for chunk in chunks for line in chunk.lines]
        first = chunks[0].first_line
        before = Cursor(chunks[0].id, first) if first > 1 else None
        return LogWindow(first, lines, before, chunks[-1].id, total)


def _end(chunk: LogChunk) -> int:
    """The number of the line after `chunk`'s last."""
    return chunk.first_line + len(chunk.lines)
