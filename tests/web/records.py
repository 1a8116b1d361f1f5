"""Build records and log lines written as a worker writes them (through BuildStore), so the web
view can be tested without Docker or a worker. The real worker path is tested in tests/e2e."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from redis.asyncio import Redis

from tingle.build import Build, BuildState, StepRecord, StepState
from tingle.store import BuildStore

T = TypeVar("T")


def make_build(
    build_id: str,
    repo: str = "octo/app",
    state: BuildState = BuildState.RUNNING,
    steps: tuple[tuple[str, StepState], ...] = (("test", StepState.RUNNING),),
    **fields: Any,
) -> Build:
    now = time.time()
    values: dict[str, Any] = {
        "sha": "c0ffee" + build_id.rjust(34, "0"),
        "ref": "refs/heads/main",
        "event": "push",
        "clone_url": f"https://github.com/{repo}.git",
        "branch": "main",
        "default_branch": "main",
        "author": "octocat",
        "commit_message": "Make the tests pass\n\nA longer body.",
        "commit_url": f"https://github.com/{repo}/commit/{build_id}",
        "created_at": now,
        "started_at": now - 5,
    }
    values.update(fields)
    records = [
        StepRecord(
            name=name,
            image="tingle/busybox:latest",
            state=step_state,
            started_at=None if step_state is StepState.PENDING else now - 4,
            finished_at=now - 1
            if step_state not in (StepState.PENDING, StepState.RUNNING)
            else None,
            exit_code=0 if step_state is StepState.SUCCESS else None,
        )
        for name, step_state in steps
    ]
    return Build(id=build_id, repo=repo, state=state, steps=records, **values)


class Records:
    """Synchronous writes for tests that drive the web app over HTTP from the test's thread."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.next_line: dict[tuple[str, int], int] = {}

    def run(self, work: Callable[[BuildStore], Awaitable[T]]) -> T:
        async def go() -> T:
            client = Redis.from_url(self.redis_url)
            try:
                return await work(BuildStore(client))
            finally:
                await client.aclose()

        # In a thread of its own: Playwright's sync API keeps an event loop in the test's thread.
        with ThreadPoolExecutor(max_workers=1) as thread:
            return thread.submit(asyncio.run, go()).result()

    def save(self, build: Build) -> Build:
        self.run(lambda store: store.save(build))
        return build

    def get(self, build_id: str) -> Build:
        build = self.run(lambda store: store.get(build_id))
        assert build is not None
        return build

    def append(self, build_id: str, step: int, lines: list[str]) -> str:
        """Store `lines` as the next entry of the step's log; returns the entry id."""
        first = self.next_line.get((build_id, step), 1)
        self.next_line[build_id, step] = first + len(lines)
        return self.run(lambda store: store.append_log(build_id, step, first, "\n".join(lines)))

    def append_many(self, build_id: str, step: int, batches: list[list[str]]) -> None:
        """Many entries in one connection (for big logs)."""

        async def write(store: BuildStore) -> None:
            for lines in batches:
                first = self.next_line.get((build_id, step), 1)
                self.next_line[build_id, step] = first + len(lines)
                await store.append_log(build_id, step, first, "\n".join(lines))

        self.run(write)

    def finish(self, build_id: str, state: BuildState, step_state: StepState) -> Build:
        build = self.get(build_id)
        build.state, build.finished_at = state, time.time()
        for step in build.steps:
            if step.state in (StepState.RUNNING, StepState.PENDING):
                step.state, step.finished_at = step_state, time.time()
        return self.save(build)
