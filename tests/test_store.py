"""The build store on a real Redis."""

from __future__ import annotations

import asyncio

from tingle.build import Build, BuildState
from tingle.queue import connect
from tingle.store import BuildStore


def test_every_save_is_the_next_version_of_the_record(redis_url: str) -> None:
    async def run() -> list[int]:
        pool = connect(redis_url)
        store = BuildStore(pool)
        build = Build("5", "octo/app", "a" * 40, "refs/heads/main", "push", "")
        seen = []
        try:
            for state in (BuildState.QUEUED, BuildState.RUNNING, BuildState.SUCCESS):
                build.state = state
                await store.save(build)
                stored = await store.get("5")
                assert stored == build
                seen.append(stored.version)
        finally:
            await pool.aclose()
        return seen

    assert asyncio.run(run()) == [1, 2, 3]
