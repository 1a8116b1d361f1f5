"""A step flooding its output without a newline, on the real Docker engine (issue 14, item 4).

On the code before, a step printing 200 MB without a newline kept the worker's CPU busy for
11.5 minutes and ended 400 s past its 5-minute timeout: the log writer joined each chunk to the
growing line, the queue from the thread reading the container's stream was unbounded, and after
the timeout all of it was still passed on. Here the step never ends by itself (`yes` without
its newlines), so only its timeout stops it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_IMAGE
from tests.engine.helpers import a_build
from tingle.engine.log_lines import LINE_LIMIT
from tingle.engine.step_runner import StepRunner
from tingle.executor.base import EngineOptions
from tingle.executor.docker import TIMEOUT_EXIT_CODE, DockerEngine
from tingle.plan import RunStep

FLOOD = "yes | tr -d '\\n'"
TIMEOUT = 10
TICK = 0.05


class Sink:
    """The store's append_log, in memory."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    async def append_log(self, build_id: str, step_index: int, first_line: int, text: str) -> str:
        assert first_line == len(self.lines) + 1
        self.lines.extend(text.split("\n"))
        return f"{first_line}-0"


class Ticker:
    """Another task on the worker's loop: how late its ticks came is how long the loop was busy."""

    def __init__(self) -> None:
        self.worst_lag = 0.0
        self.ticks = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + TICK
            await asyncio.sleep(TICK)
            self.worst_lag = max(self.worst_lag, loop.time() - due)
            self.ticks += 1


@contextlib.asynccontextmanager
async def ticking() -> AsyncIterator[Ticker]:
    ticker = Ticker()
    task = asyncio.create_task(ticker.run())
    try:
        yield ticker
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_step_flooding_without_newlines_stops_at_its_timeout_with_a_bounded_log(
    docker_client: Any, tmp_path: Path
) -> None:
    build = a_build(id=f"flood-{os.getpid()}")
    executor = DockerEngine(docker_client, EngineOptions(network="none")).executor()
    workspace = tmp_path / "workspaces" / build.id
    workspace.mkdir(parents=True)
    sink = Sink()
    steps = StepRunner(executor, sink, log_limit=64 * 1024 * 1024)
    step = RunStep("flood", TEST_IMAGE, (FLOOD,), timeout_seconds=TIMEOUT)
    loop = asyncio.get_running_loop()
    await executor.setup(build.id, workspace)
    try:
        async with ticking() as ticker:
            started = loop.time()
            result = await steps.run(build, 0, step, workspace, {})
            took = loop.time() - started
    finally:
        await executor.teardown()

    assert (result.exit_code, result.timed_out) == (TIMEOUT_EXIT_CODE, True)
    echo, flood, notice = sink.lines
    assert echo == f"+ {FLOOD}"
    kept, marker = flood[:LINE_LIMIT], flood[LINE_LIMIT:]
    assert kept == "y" * LINE_LIMIT
    assert marker.startswith(f" [tingle: line cut at {LINE_LIMIT} bytes; ")
    dropped = int(marker.split("; ")[1].split()[0])
    assert dropped > 10 * LINE_LIMIT  # it did flood: the cut part was counted, not kept
    assert notice == f"tingle: step timed out after {TIMEOUT}s"  # a line of its own
    assert not steps.log_truncated  # one long line is not a full log
    # Bounds far from the failure (minutes), not measurements: speed belongs to bench/.
    assert took < TIMEOUT + 20
    assert ticker.worst_lag < 2.0, f"the loop was busy for {ticker.worst_lag:.1f}s at a time"


@pytest.mark.parametrize("lines", [200_000])
async def test_a_step_printing_many_lines_fast_loses_none(
    docker_client: Any, tmp_path: Path, lines: int
) -> None:
    """Backpressure holds the stream back; it never drops output of a step that ends."""
    build = a_build(id=f"lines-{os.getpid()}")
    executor = DockerEngine(docker_client, EngineOptions(network="none")).executor()
    workspace = tmp_path / "workspaces" / build.id
    workspace.mkdir(parents=True)
    sink = Sink()
    steps = StepRunner(executor, sink)
    await executor.setup(build.id, workspace)
    try:
        result = await steps.run(
            build, 0, RunStep("seq", TEST_IMAGE, (f"seq 1 {lines}",)), workspace, {}
        )
    finally:
        await executor.teardown()
    assert result.ok
    assert sink.lines == [f"+ seq 1 {lines}", *(str(n) for n in range(1, lines + 1))]


async def test_a_cancelled_flooding_step_lets_its_stream_reader_go(
    docker_client: Any, tmp_path: Path
) -> None:
    """A cancel (the build was cancelled or handed back) leaves the container to teardown; the
    thread reading its stream, held back by the full handoff, must end with it, not hang."""
    build = a_build(id=f"cancelled-flood-{os.getpid()}")
    executor = DockerEngine(docker_client, EngineOptions(network="none")).executor()
    workspace = tmp_path / "workspaces" / build.id
    workspace.mkdir(parents=True)
    got = asyncio.Event()

    async def slow_reader(chunk: bytes) -> None:
        got.set()
        await asyncio.sleep(0.01)  # far slower than the flood: the handoff fills

    await executor.setup(build.id, workspace)
    step = RunStep("cancelled-flood", TEST_IMAGE, (FLOOD,))
    running = asyncio.create_task(executor.run(step, {}, slow_reader))
    try:
        await asyncio.wait_for(got.wait(), 60)
        [reader] = [t for t in threading.enumerate() if t.name == f"logs-{step.name}"]
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    finally:
        await executor.teardown()
    await asyncio.to_thread(reader.join, 30)
    assert not reader.is_alive()
