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
from tingle.archive.archiver import BuildHook, build_lock
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
        """One pass: the ids removed."""
        store = self.store
        old = await store.redis.zrangebyscore(
            store.key("builds"), "-inf", time.time() - self.retention_seconds, 0, self.batch
        )
        over = await store.redis.zrange(store.key("expire-due"), 0, self.batch - 1)
        removed = []
        for build_id in dict.fromkeys(map(as_text, [*old, *over])):
            async with build_lock(store, build_id) as mine:
                if mine and await self._expire_locked(build_id):
                    removed.append(build_id)
        if removed:
            metrics.EXPIRED_BUILDS.inc(len(removed))
            log.info("builds expired", count=len(removed))
        return removed

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
