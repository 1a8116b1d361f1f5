"""An ended build with a log, for the archive's tests."""

from __future__ import annotations

from tingle.archive.archiver import Archiver
from tingle.archive.blobs import BlobStore
from tingle.build import Build, BuildState, StepRecord
from tingle.store import BuildStore


async def ended_build(store: BuildStore, lines: int, build_id: str = "41") -> Build:
    build = Build(id=build_id, repo="acme/app", sha="a" * 40, ref="refs/heads/main", event="push",
                  clone_url="https://github.com/acme/app.git", branch="main")  # fmt: skip
    build.steps = [StepRecord(name="test")]
    for first in range(1, lines + 1, 100):
        text = "\n".join(f"line {n}" for n in range(first, min(first + 100, lines + 1)))
        await store.append_log(build.id, 0, first, text)
    build.finish(BuildState.SUCCESS, None)
    await store.save(build)
    return build


def archiver_now(store: BuildStore, blobs: BlobStore) -> Archiver:
    """An archiver that moves a build's logs in one pass, as soon as it ends."""
    return Archiver(store, blobs, delay_seconds=0, stream_grace_seconds=0)
