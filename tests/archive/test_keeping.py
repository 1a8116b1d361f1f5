"""Two janitors (or a reader and a janitor) on one build at once: the archiver and retention take
the build's keeping lock, so a build is never archived twice at once and retention never leaves
blobs an archiver was writing; a reader that fetched the record just before the move still finds
the streams for the grace period."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from tests.archive.builds import ended_build
from tingle.archive.archiver import Archiver, build_lock
from tingle.archive.blobs import BlobStore
from tingle.archive.logs import LogReader
from tingle.archive.retention import Retention
from tingle.store import BuildStore


def folder(tmp_path: Path) -> BlobStore:
    return BlobStore.open(str(tmp_path / "archive"))


def files(tmp_path: Path) -> list[str]:
    root = tmp_path / "archive"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def test_a_reader_holding_the_record_from_before_the_move_still_reads_the_whole_log(
    store: BuildStore, tmp_path: Path
) -> None:
    build = await ended_build(store, 300)  # the record as a web request fetched it
    blobs = folder(tmp_path)
    archiver = Archiver(store, blobs, delay_seconds=0, stream_grace_seconds=30)
    assert await archiver.archive_due() == []  # archived, the streams not deleted yet
    moved = await store.get(build.id)
    assert moved is not None and moved.logs_archived
    assert files(tmp_path) == ["logs/41/0.index.json", "logs/41/0.log"]
    reader = LogReader(store, blobs)
    stale = await (await reader.source(build, 0)).read()  # the old record: the stream
    fresh = await (await reader.source(moved, 0)).read()  # the new one: the archive
    assert stale == fresh and len(stale) == 3
    due_at = await store.redis.zscore(store.key("archive-due"), build.id)
    assert due_at is not None and due_at > (build.finished_at or 0) + 25
    assert await archiver.archive_due() == []  # not before the grace period is over
    await store.redis.zadd(store.key("archive-due"), {build.id: 0})  # ...now it is
    assert await archiver.archive_due() == [build.id]
    assert not await store.redis.exists(store.log_key(build.id, 0))
    assert await archiver.backlog() == 0
    assert await (await reader.source(moved, 0)).read() == fresh


async def test_a_build_another_janitor_holds_is_left_for_a_later_pass(
    store: BuildStore, tmp_path: Path
) -> None:
    build = await ended_build(store, 100)
    blobs = folder(tmp_path)
    archiver = Archiver(store, blobs, delay_seconds=0, stream_grace_seconds=0)
    retention = Retention(store, blobs, retention_seconds=0)
    async with build_lock(store, build.id) as mine:
        assert mine
        async with build_lock(store, build.id) as also_mine:
            assert not also_mine  # one holder at a time
        assert await archiver.archive_due() == []
        assert await retention.expire() == []
        assert files(tmp_path) == []  # nothing written under another's lock
        assert await store.get(build.id) is not None
    assert await archiver.archive_due() == [build.id]  # released: the next passes do their work
    assert await retention.expire() == [build.id]
    assert files(tmp_path) == [] and await store.get(build.id) is None


class SlowBlobs(BlobStore):
    """A blob store whose writes take a while, like a far S3 bucket."""

    async def put(self, path: str, data: bytes) -> None:
        await asyncio.sleep(0.05)
        await super().put(path, data)


async def test_retention_during_an_archive_leaves_no_blob_behind(
    store: BuildStore, tmp_path: Path
) -> None:
    """Two janitors at once: one archives a build while the other's retention removes it. Before
    the lock, the archiver's writes landing after retention's delete stayed forever."""
    builds = [await ended_build(store, 200, build_id=str(n)) for n in range(1, 9)]
    blobs = folder(tmp_path)
    slow = SlowBlobs(blobs._store, blobs.where, tmp_path / "archive")
    archiver = Archiver(store, slow, delay_seconds=0, stream_grace_seconds=0)
    retention = Retention(store, blobs, retention_seconds=0)

    async def expire_until_empty() -> None:
        while await store.redis.zcard(store.key("builds")):
            await retention.expire()
            await asyncio.sleep(0.01)

    await asyncio.wait_for(asyncio.gather(archiver.archive_due(), expire_until_empty()), 30)
    await archiver.archive_due()  # a later pass finds nothing left to write
    assert [await store.get(b.id) for b in builds] == [None] * len(builds)
    assert files(tmp_path) == []


async def test_a_backlog_drains_in_one_janitor_pass_not_a_batch_a_pass(
    store: BuildStore, tmp_path: Path
) -> None:
    builds = [await ended_build(store, 10, build_id=str(n)) for n in range(1, 121)]
    blobs = folder(tmp_path)
    archiver = Archiver(store, blobs, delay_seconds=0, batch=50, stream_grace_seconds=0)
    assert len(await archiver.archive_due()) == 50  # one batch
    assert len(await archiver.catch_up(60)) == 70  # the rest, batch after batch
    assert await archiver.backlog() == 0
    retention = Retention(store, blobs, retention_seconds=0, batch=50)
    assert len(await retention.catch_up(60)) == len(builds)
    assert files(tmp_path) == [] and not await store.redis.zcard(store.key("builds"))


async def test_catching_up_stops_when_a_batch_gets_nothing_done(
    store: BuildStore, tmp_path: Path
) -> None:
    """A full batch of builds another janitor holds does not keep this one spinning."""
    for n in range(1, 6):
        await ended_build(store, 10, build_id=str(n))
    archiver = Archiver(store, folder(tmp_path), delay_seconds=0, batch=5, stream_grace_seconds=0)
    passes = 0
    real = archiver._pass

    async def counted() -> tuple[bool, list[str]]:
        nonlocal passes
        passes += 1
        return await real()

    archiver._pass = counted  # type: ignore[method-assign]
    async with contextlib.AsyncExitStack() as held:
        for n in range(1, 6):
            assert await held.enter_async_context(build_lock(store, str(n)))
        assert await archiver.catch_up(60) == []
    assert passes == 1
