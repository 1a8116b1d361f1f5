"""One Redis read per live step, shared by every reader of that step in this web process.

Without it, each live-log stream made its own blocking XREAD, holding a Redis connection each:
300 readers were 300 connections, and once Redis's client limit was reached, webhooks failed.

The first subscriber of (build, step) starts a feed: one task that finds the step's last entry,
then XREADs after it (blocking, `block_ms`) and puts each chunk into every subscriber's bounded
queue. When a read brings nothing, the feed reads the build record once for all of them: `Ended`
when the step is over, else `Idle` (the streams send a keep-alive). A subscriber whose queue is
full has fallen behind: it is let go (`dropped`), its stream ends after what it was given, and the
browser resumes with Last-Event-ID. The feed ends after a read that finds no subscriber left, so
readers that come and go within a second reuse it.

Joining without gaps or duplicates: a subscriber learns `joined_at`, the feed's cursor when it
joined (or, joining before the feed is ready, the entry the feed starts after). Every entry after
`joined_at` will come through its queue; every entry up to it exists already, so the subscriber
reads those from its own cursor (a non-blocking XRANGE, `catch_up`), then takes queued chunks
newer than the last one it sent. Entry ids (`<first line>-0`) only grow, so "newer" is a compare.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from redis.exceptions import RedisError

from tingle import metrics
from tingle.build import Build
from tingle.store import BuildStore, LogChunk
from tingle.web.views import step_finished

QUEUE_CHUNKS = 256  # chunks (of up to ~64 lines) a subscriber may be behind before it is let go


@dataclass(frozen=True)
class Idle:
    """No new line within the feed's block time; the step still runs (or Redis did not answer)."""


@dataclass(frozen=True)
class Ready:
    """The feed knows where it starts: `joined_at` is set."""


@dataclass(frozen=True)
class Ended:
    """The step (or its build) is over; `build` is its record then (None: gone)."""

    build: Build | None


Item = LogChunk | Idle | Ready | Ended


def entry_order(entry_id: str) -> tuple[int, int]:
    """Stream entry ids compared as Redis orders them ("0-0" and "-" before any entry)."""
    first, _, second = entry_id.partition("-")
    return (int(first or 0), int(second or 0))


@dataclass(eq=False)
class Subscriber:
    queue: asyncio.Queue[Item]
    joined_at: str | None = None
    dropped: bool = False  # let go by the feed: end after what is queued


@dataclass(eq=False)
class _Feed:
    build_id: str
    index: int
    subscribers: set[Subscriber] = field(default_factory=set)
    cursor: str | None = None  # the last entry broadcast; None until the feed has started
    task: asyncio.Task[None] | None = None


class LogFanout:
    def __init__(
        self,
        store: BuildStore,
        live_store: BuildStore,
        *,
        block_ms: int = 1000,
        queue_chunks: int = QUEUE_CHUNKS,
    ) -> None:
        self.store = store  # records and the step's last entry
        self.live_store = live_store  # the blocking reads, on a Redis pool of their own
        self.block_ms = block_ms
        self.queue_chunks = queue_chunks
        self.reads = 0  # blocking reads made, for all streams (tests, and the metric)
        self.feeds_started = 0
        self._feeds: dict[tuple[str, int], _Feed] = {}

    @contextlib.asynccontextmanager
    async def subscribe(self, build_id: str, index: int) -> AsyncIterator[Subscriber]:
        feed = self._feeds.get((build_id, index))
        if feed is None:
            feed = self._start(build_id, index)
        subscriber = Subscriber(asyncio.Queue(self.queue_chunks), joined_at=feed.cursor)
        feed.subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            feed.subscribers.discard(subscriber)  # the feed ends after its next read

    async def close(self) -> None:
        tasks = [feed.task for feed in self._feeds.values() if feed.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _start(self, build_id: str, index: int) -> _Feed:
        feed = _Feed(build_id, index)
        self._feeds[(build_id, index)] = feed
        feed.task = asyncio.create_task(self._run(feed), name=f"live log {build_id}/{index}")
        self.feeds_started += 1
        metrics.LIVE_LOG_FEEDS.inc()
        return feed

    async def _run(self, feed: _Feed) -> None:
        try:
            while await self._step(feed):
                pass
        finally:
            self._stop(feed)

    async def _step(self, feed: _Feed) -> bool:
        """One read and its broadcast; False when the feed is done."""
        try:
            if feed.cursor is None:
                return await self._begin(feed)
            return await self._follow(feed)
        except RedisError:  # Redis away, or no live-log connection free: the streams wait
            self._broadcast(feed, Idle())
            await asyncio.sleep(self.block_ms / 1000)
            return bool(feed.subscribers)

    async def _begin(self, feed: _Feed) -> bool:
        newest = await self.store.read_log_back(feed.build_id, feed.index, count=1)
        feed.cursor = newest[0].id if newest else "0-0"
        for subscriber in feed.subscribers:
            subscriber.joined_at = feed.cursor
        self._broadcast(feed, Ready())
        return True

    async def _follow(self, feed: _Feed) -> bool:
        assert feed.cursor is not None
        chunks = await self.live_store.wait_log(
            feed.build_id, feed.index, feed.cursor, self.block_ms
        )
        self.reads += 1
        metrics.LIVE_LOG_READS.inc()
        for chunk in chunks:
            self._broadcast(feed, chunk)
            feed.cursor = chunk.id
        if not feed.subscribers:
            return False
        if chunks:
            return True
        build = await self.store.get(feed.build_id)
        if build is None or step_finished(build, feed.index):
            self._broadcast(feed, Ended(build))
            return False
        self._broadcast(feed, Idle())
        return True

    def _broadcast(self, feed: _Feed, item: Item) -> None:
        for subscriber in list(feed.subscribers):
            try:
                subscriber.queue.put_nowait(item)
            except asyncio.QueueFull:
                self._let_go(feed, subscriber)

    def _let_go(self, feed: _Feed, subscriber: Subscriber) -> None:
        feed.subscribers.discard(subscriber)
        if not subscriber.dropped:
            subscriber.dropped = True
            metrics.LIVE_LOG_DROPPED.inc()

    def _stop(self, feed: _Feed) -> None:
        """The feed is over: nobody may join it any more, and whoever is still on it (a feed that
        failed, or ended) is let go, so that no stream waits for a feed that is gone."""
        if self._feeds.get((feed.build_id, feed.index)) is feed:
            del self._feeds[(feed.build_id, feed.index)]
        metrics.LIVE_LOG_FEEDS.dec()
        for subscriber in list(feed.subscribers):
            subscriber.dropped = True
            with contextlib.suppress(asyncio.QueueFull):
                subscriber.queue.put_nowait(Idle())  # wakes it if it waits
        feed.subscribers.clear()
