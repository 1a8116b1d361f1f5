"""Moves ended builds' logs from Redis to the blob store, a bounded batch per janitor pass.

For each build, in this order: write every step's text and index to the blob store (writing the
same blobs twice is harmless), mark the record `logs_archived` (from then on readers read the
archive), delete the Redis streams and take the build off `archive-due`. A crash anywhere in
between loses nothing and duplicates nothing: before the mark, readers read the streams, still
whole, and the next pass writes the blobs again; after it, the streams are never read again and
the next pass only deletes them. A failure (the blob store down) leaves the build due, later.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog

from tingle import metrics
from tingle.archive.blobs import BlobStore
from tingle.archive.logs import log_path, pack
from tingle.store import BuildStore, as_text

log = structlog.get_logger(__name__)

RETRY_SECONDS = 60.0  # after a failed attempt, before the next


@dataclass
class Archiver:
    store: BuildStore
    blobs: BlobStore
    delay_seconds: float = 10.0  # an ended build's last writes (feedback, a late log) settle
    batch: int = 50

    async def archive_due(self) -> list[str]:
        """Archive the builds due now; the ids archived."""
        store = self.store
        due = await store.redis.zrangebyscore(
            store.key("archive-due"), "-inf", time.time() - self.delay_seconds, 0, self.batch
        )
        done = []
        for build_id in map(as_text, due):
            try:
                if await self.archive(build_id):
                    done.append(build_id)
            except Exception as exc:  # obstore's errors, Redis's, a disk's: each only delays it
                metrics.ARCHIVE_FAILURES.inc()
                log.warning("log archive failed", build_id=build_id, error=str(exc))
                await store.redis.zadd(
                    store.key("archive-due"), {build_id: time.time() + RETRY_SECONDS}, xx=True
                )
        return done

    async def archive(self, build_id: str) -> bool:
        store = self.store
        build = await store.get(build_id)
        if build is None or not build.state.terminal:  # gone, or running again (re-added later)
            await store.redis.zrem(store.key("archive-due"), build_id)
            return False
        if await store.is_alive(build_id):  # its worker is still winding it up
            return False
        if not build.logs_archived:
            for step in range(len(build.steps)):
                data, index = pack(await store.read_log(build_id, step))
                await self.blobs.put(log_path(build_id, step, "log"), data)
                await self.blobs.put(log_path(build_id, step, "index.json"), index.to_json())
            build.logs_archived = True
            await store.save(build)
        await store.forget_logs(build_id, len(build.steps))
        metrics.ARCHIVED_BUILDS.inc()
        return True

    async def backlog(self) -> int:
        return int(await self.store.redis.zcard(self.store.key("archive-due")))
