"""A step's log as its readers see it, live (a Redis stream) or archived (two blobs), with the
same entries, entry ids, line numbers and text either way.

An archived step is `logs/<build>/<step>.log`, the text exactly as the raw download serves it
(entries joined by newlines), and `logs/<build>/<step>.index.json`, each entry's first line and
its byte range in the text. Entry ids are `<first line>-0` (tingle.store.append_log), so the
cursors a page or an SSE stream holds (`before`, `last_id`, `Last-Event-ID`) stay valid across
the move: a page opened while the build ran keeps paging after its log was archived.
"""

from __future__ import annotations

import bisect
import json
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from tingle.archive.blobs import BlobStore
from tingle.build import Build
from tingle.store import BuildStore, LogChunk

RAW_PIECE_BYTES = 1024 * 1024  # how much of an archived log a raw download reads at a time
_INDEX_CACHE_SIZE = 256  # archived indexes never change: keep the recent ones in memory


class LogSource(Protocol):
    async def read(self, after: str = "-", count: int | None = None) -> list[LogChunk]:
        """Entries strictly after entry `after` ("-": from the start), oldest first."""
        ...

    async def read_back(self, before: str = "+", count: int = 16) -> list[LogChunk]:
        """Up to `count` entries up to entry `before` ("+": the end; "(id": excluding it),
        newest first."""
        ...


def log_path(build_id: str, step: int, suffix: str) -> str:
    return f"logs/{build_id}/{step}.{suffix}"


def build_prefix(build_id: str) -> str:
    return f"logs/{build_id}/"


@dataclass(frozen=True)
class LiveLog:
    store: BuildStore
    build_id: str
    step: int

    async def read(self, after: str = "-", count: int | None = None) -> list[LogChunk]:
        return await self.store.read_log(self.build_id, self.step, after=after, count=count)

    async def read_back(self, before: str = "+", count: int = 16) -> list[LogChunk]:
        return await self.store.read_log_back(self.build_id, self.step, before, count=count)


@dataclass(frozen=True)
class LogIndex:
    first_lines: list[int]
    offsets: list[int]
    lengths: list[int]

    def to_json(self) -> bytes:
        entries = list(zip(self.first_lines, self.offsets, self.lengths, strict=True))
        return json.dumps({"version": 1, "entries": entries}).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> LogIndex:
        entries = json.loads(raw)["entries"]
        return cls([e[0] for e in entries], [e[1] for e in entries], [e[2] for e in entries])


def pack(chunks: list[LogChunk]) -> tuple[bytes, LogIndex]:
    """The archived text of `chunks` and its index."""
    parts: list[bytes] = []
    index = LogIndex([], [], [])
    offset = 0
    for position, chunk in enumerate(chunks):
        data = (("\n" if position else "") + chunk.text).encode()
        skip = 1 if position else 0  # the separating newline belongs to no entry
        index.first_lines.append(chunk.first_line)
        index.offsets.append(offset + skip)
        index.lengths.append(len(data) - skip)
        parts.append(data)
        offset += len(data)
    return b"".join(parts), index


def _line_of(entry_id: str) -> int:
    return int(entry_id.lstrip("(").split("-", 1)[0])


class ArchivedLog:
    def __init__(self, blobs: BlobStore, build_id: str, step: int, index: LogIndex) -> None:
        self._blobs = blobs
        self._path = log_path(build_id, step, "log")
        self._index = index

    async def read(self, after: str = "-", count: int | None = None) -> list[LogChunk]:
        lines = self._index.first_lines
        start = 0 if after in ("-", "0", "0-0") else bisect.bisect_right(lines, _line_of(after))
        end = len(lines) if count is None else min(len(lines), start + count)
        return await self._entries(start, end)

    async def read_back(self, before: str = "+", count: int = 16) -> list[LogChunk]:
        lines = self._index.first_lines
        if before == "+":
            end = len(lines)
        elif before.startswith("("):
            end = bisect.bisect_left(lines, _line_of(before))
        else:
            end = bisect.bisect_right(lines, _line_of(before))
        return list(reversed(await self._entries(max(0, end - count), end)))

    async def _entries(self, start: int, end: int) -> list[LogChunk]:
        """Entries `start` to `end` (exclusive), with one ranged read."""
        if start >= end:
            return []
        index = self._index
        first = index.offsets[start]
        data = await self._blobs.get_range(
            self._path, first, index.offsets[end - 1] + index.lengths[end - 1] - first
        )
        return [
            LogChunk(
                id=f"{index.first_lines[i]}-0",
                first_line=index.first_lines[i],
                text=data[
                    index.offsets[i] - first : index.offsets[i] - first + index.lengths[i]
                ].decode(),
            )
            for i in range(start, end)
        ]

    async def raw(self) -> AsyncIterator[bytes]:
        """The whole text, a piece at a time."""
        size = (self._index.offsets[-1] + self._index.lengths[-1]) if self._index.offsets else 0
        for start in range(0, size, RAW_PIECE_BYTES):
            yield await self._blobs.get_range(self._path, start, min(RAW_PIECE_BYTES, size - start))


class LogReader:
    """Where the web view and the API read a step's log from: its archive once the build's logs
    were archived (the record says so), else its live stream."""

    def __init__(self, store: BuildStore, blobs: BlobStore) -> None:
        self.store = store
        self.blobs = blobs
        self._indexes: OrderedDict[tuple[str, int], LogIndex] = OrderedDict()

    async def source(self, build: Build, step: int) -> LiveLog | ArchivedLog:
        if not build.logs_archived:
            return LiveLog(self.store, build.id, step)
        return ArchivedLog(self.blobs, build.id, step, await self._index(build.id, step))

    async def _index(self, build_id: str, step: int) -> LogIndex:
        key = (build_id, step)
        if key in self._indexes:
            self._indexes.move_to_end(key)
            return self._indexes[key]
        raw = await self.blobs.get(log_path(build_id, step, "index.json"))
        index = LogIndex.from_json(raw) if raw is not None else LogIndex([], [], [])
        if raw is not None:
            self._indexes[key] = index
            if len(self._indexes) > _INDEX_CACHE_SIZE:
                self._indexes.popitem(last=False)
        return index
