"""Moves ended builds' logs from Redis to the blob store, a bounded batch per janitor pass.

For each build, under its keeping lock (`build_lock`, shared with retention): write every step's
text and index to the blob store (writing the same blobs twice is harmless), mark the record
`logs_archived` (from then on readers read the archive), and, `stream_grace_seconds` later (a
reader that fetched the record just before the mark still finds the streams), delete the Redis
streams and take the build off `archive-due`. A crash anywhere in between loses nothing and
duplicates nothing: before the mark, readers read the streams, still whole, and the next pass
writes the blobs again; after it, the streams are never read again and a later pass only deletes
them. A failure (the blob store down) leaves the build due, later.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import structlog
from redis.exceptions import RedisError

from tingle import metrics
from tingle.archive.blobs import BlobStore
from tingle.archive.logs import log_path, pack
from tingle.store import BuildStore, as_text

log = structlog.get_logger(__name__)

RETRY_SECONDS = 60.0  # after a failed attempt, before the next
LOCK_SECONDS = 300  # a janitor that dies holding a build's lock frees it after this

CONCURRENCY = 16  # builds one janitor works on at once (each is a few Redis round trips)

BuildHook = Callable[[str], Awaitable[None]]  # called with a build id


T = TypeVar("T")


async def each_build(ids: Iterable[str], work: Callable[[str], Awaitable[T]]) -> dict[str, T]:
    """`work` on each build, `CONCURRENCY` at once, in an order of this janitor's own (so two
    janitors mostly take different builds' locks); what it returned, by build id."""
    order = list(dict.fromkeys(ids))
    random.shuffle(order)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(build_id: str) -> T:
        async with gate:
            return await work(build_id)

    return dict(zip(order, await asyncio.gather(*map(one, order)), strict=True))


Pass = Callable[[], Awaitable[tuple[bool, list[str]]]]  # whether to go on, and the ids done


async def catch_up(one_pass: Pass, seconds: float) -> list[str]:
    """Passes of `one_pass` (whether it should go on, and its ids) while there is more to do and
    work gets done, for at most `seconds`: a backlog drains faster than a batch a janitor pass."""
    deadline = time.monotonic() + seconds
    done: list[str] = []
    while True:
        more, ids = await one_pass()
        done += ids
        if not more or time.monotonic() >= deadline:
            return done


class Outcome(enum.Enum):
    MOVED = "moved"  # the streams are gone: readers read the archive only
    MARKED = "marked"  # archived; the streams go after the grace period
    SKIPPED = "skipped"  # gone, running again, winding up, another janitor has it, or failed


@contextlib.asynccontextmanager
async def build_lock(store: BuildStore, build_id: str) -> AsyncIterator[bool]:
    """The lock under which one janitor archives or expires a build (two janitors never archive
    the same build at once, and retention never deletes a build's blobs while they are written).
    Yields False, without waiting, when another janitor holds it."""
    lock = store.redis.lock(store.key("keep", build_id), timeout=LOCK_SECONDS)
    if not await lock.acquire(blocking=False):
        yield False
        return
    try:
        yield True
    finally:
        with contextlib.suppress(RedisError):
            await lock.release()


@dataclass
class Archiver:
    store: BuildStore
    blobs: BlobStore
    delay_seconds: float = 10.0  # an ended build's last writes (feedback, a late log) settle
    batch: int = 50
    stream_grace_seconds: float = 30.0  # archived, before the streams go
    after_archive: BuildHook | None = None  # e.g. forget the build's settled feedback

    async def archive_due(self) -> list[str]:
        """One batch of the builds due now; the ids whose logs left Redis."""
        return (await self._pass())[1]

    async def catch_up(self, seconds: float) -> list[str]:
        """Batches while builds are due and get archived, for at most `seconds`."""
        return await catch_up(self._pass, seconds)

    async def _pass(self) -> tuple[bool, list[str]]:
        store = self.store
        due = await store.redis.zrangebyscore(
            store.key("archive-due"), "-inf", time.time() - self.delay_seconds, 0, self.batch
        )
        outcomes = await each_build(map(as_text, due), self._archive_or_retry)
        moved = [build_id for build_id, got in outcomes.items() if got is Outcome.MOVED]
        worked = any(got is not Outcome.SKIPPED for got in outcomes.values())
        return len(due) == self.batch and worked, moved

    async def _archive_or_retry(self, build_id: str) -> Outcome:
        try:
            return await self.archive(build_id)
        except Exception as exc:  # obstore's errors, Redis's, a disk's: each only delays it
            metrics.ARCHIVE_FAILURES.inc()
            log.warning("log archive failed", build_id=build_id, error=str(exc))
            store = self.store
            await store.redis.zadd(
                store.key("archive-due"), {build_id: time.time() + RETRY_SECONDS}, xx=True
            )
            return Outcome.SKIPPED

    async def archive(self, build_id: str) -> Outcome:
        """The next step of one build's move."""
        async with build_lock(self.store, build_id) as mine:
            return await self._archive_locked(build_id) if mine else Outcome.SKIPPED

    async def _archive_locked(self, build_id: str) -> Outcome:
        store = self.store
        build = await store.get(build_id)
        if build is None or not build.state.terminal:  # gone, or running again (re-added later)
            await store.redis.zrem(store.key("archive-due"), build_id)
            return Outcome.SKIPPED
        if await store.is_alive(build_id):  # its worker is still winding it up
            return Outcome.SKIPPED
        if not build.logs_archived:
            for step in range(len(build.steps)):
                data, index = pack(await store.read_log(build_id, step))
                await self.blobs.put(log_path(build_id, step, "log"), data)
                await self.blobs.put(log_path(build_id, step, "index.json"), index.to_json())
            build.logs_archived = True
            await store.save(build)
            metrics.ARCHIVED_BUILDS.inc()
            if self.after_archive is not None:
                await self.after_archive(build_id)
            if self.stream_grace_seconds > 0:  # readers holding the old record still read them
                due_at = time.time() - self.delay_seconds + self.stream_grace_seconds
                await store.redis.zadd(store.key("archive-due"), {build_id: due_at}, xx=True)
                return Outcome.MARKED
        await store.forget_logs(build_id, len(build.steps))
        return Outcome.MOVED

    async def backlog(self) -> int:
        return int(await self.store.redis.zcard(self.store.key("archive-due")))
