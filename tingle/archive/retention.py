"""Build history expires: a build older than the retention time, or past its branch's (or pull
request's) newest N, is removed from Redis and from the archive, a bounded batch per janitor pass.

Unfinished builds never expire. A build is removed under its keeping lock (the archiver's), so
blobs an archiver is writing are never left behind. What other parts keep of a build (its GitHub
feedback, arq's job result) goes through the `forget` hooks. The webhook delivery and event keys of
an expired build stay until their own expiry (about GitHub's redelivery window), so a redelivered
webhook is still answered as a duplicate and builds nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from tingle import metrics
from tingle.archive.archiver import BuildHook, build_lock, catch_up, each_build
from tingle.archive.blobs import BlobStore
from tingle.archive.logs import build_prefix
from tingle.store import BuildStore, as_text

log = structlog.get_logger(__name__)


@dataclass
class Retention:
    store: BuildStore
    blobs: BlobStore
    retention_seconds: float
    batch: int = 500
    forget: Sequence[BuildHook] = field(default_factory=tuple)  # a removed build's other keys

    async def expire(self) -> list[str]:
        """One batch: the ids removed."""
        return (await self._pass())[1]

    async def catch_up(self, seconds: float) -> list[str]:
        """Batches while builds are due and get removed, for at most `seconds`."""
        return await catch_up(self._pass, seconds)

    async def _pass(self) -> tuple[bool, list[str]]:
        store = self.store
        old = await store.redis.zrangebyscore(
            store.key("builds"), "-inf", time.time() - self.retention_seconds, 0, self.batch
        )
        over = await store.redis.zrange(store.key("expire-due"), 0, self.batch - 1)
        outcomes = await each_build(map(as_text, [*old, *over]), self._expire)
        removed = [build_id for build_id, gone in outcomes.items() if gone]
        if removed:
            metrics.EXPIRED_BUILDS.inc(len(removed))
            log.info("builds expired", count=len(removed))
        full = len(old) == self.batch or len(over) == self.batch
        return full and bool(removed), removed

    async def _expire(self, build_id: str) -> bool:
        async with build_lock(self.store, build_id) as mine:
            return mine and await self._expire_locked(build_id)

    async def _expire_locked(self, build_id: str) -> bool:
        store = self.store
        build = await store.get(build_id)
        if build is not None and not build.state.terminal:
            return False  # still queued or running: it expires once it ends
        await self.blobs.delete_prefix(build_prefix(build_id))  # first: never an orphan
        for hook in self.forget:
            await hook(build_id)
        await store.forget_build(build_id, build)
        return True
