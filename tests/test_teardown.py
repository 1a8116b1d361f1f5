"""Cleanups: background clean-up work that logs its failures, never raises them, and can be waited
for within a bound."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from structlog.testing import CapturingLogger

from tingle.engine import cleanups
from tingle.engine.cleanups import TRASH, Cleanups


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> CapturingLogger:
    capture = CapturingLogger()
    monkeypatch.setattr(cleanups, "log", capture)
    return capture


async def test_a_failing_cleanup_is_logged_and_raises_nowhere(logged: CapturingLogger) -> None:
    cleanups = Cleanups()
    done: list[str] = []

    async def fails() -> None:
        raise RuntimeError("engine gone")

    async def works() -> None:
        await asyncio.sleep(0)
        done.append("works")

    cleanups.defer("containers of build 7", fails())
    cleanups.defer("workspace 7", works())
    assert await cleanups.drain(10) is True

    assert done == ["works"]
    assert cleanups.pending == 0
    [call] = [c for c in logged.calls if c.method_name == "exception"]
    assert call.args == ("cleanup failed",)
    assert call.kwargs == {"what": "containers of build 7"}


async def test_drain_waits_for_pending_cleanups_and_those_they_start() -> None:
    cleanups = Cleanups()
    release = asyncio.Event()
    done: list[str] = []

    async def second() -> None:
        done.append("second")

    async def first() -> None:
        await release.wait()
        done.append("first")
        cleanups.defer("second", second())  # started while the worker drains

    cleanups.defer("first", first())
    drained = asyncio.create_task(cleanups.drain(30))
    await asyncio.sleep(0.05)
    assert not drained.done() and done == []
    release.set()
    assert await drained is True
    assert done == ["first", "second"]


async def test_drain_gives_up_after_its_bound_and_leaves_the_work_running(
    logged: CapturingLogger,
) -> None:
    cleanups = Cleanups()
    release = asyncio.Event()

    async def stuck() -> None:
        await release.wait()

    cleanups.defer("stuck", stuck())
    assert await cleanups.drain(0.05) is False
    assert cleanups.pending == 1
    assert [c.kwargs for c in logged.calls if c.method_name == "warning"] == [{"pending": 1}]
    release.set()
    assert await cleanups.drain(10) is True


async def test_drain_with_nothing_pending_returns_at_once() -> None:
    assert await Cleanups().drain(0) is True


async def test_a_workspace_moves_to_the_trash_at_once_and_is_deleted_in_the_background(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "12"
    (workspace / "src").mkdir(parents=True)
    (workspace / "src" / "main.py").write_text("print()\n")
    cleanups = Cleanups()

    cleanups.discard_workspace(workspace)
    assert not workspace.exists()  # free at once for a build that runs again here
    [moved] = names(tmp_path / TRASH)
    assert moved.startswith("12.")
    assert await cleanups.drain(10) is True
    assert names(tmp_path / TRASH) == []


async def test_the_first_workspace_removal_also_empties_what_a_dead_process_left(
    tmp_path: Path,
) -> None:
    left = tmp_path / TRASH / "3.0123456789ab"
    (left / "deep").mkdir(parents=True)
    (left / "deep" / "file").write_text("x")
    (tmp_path / "4").mkdir()
    cleanups = Cleanups()

    cleanups.discard_workspace(tmp_path / "4")
    assert await cleanups.drain(10) is True
    assert names(tmp_path / TRASH) == []
    assert names(tmp_path) == [TRASH]


async def test_a_workspace_never_made_is_nothing_to_do(tmp_path: Path) -> None:
    cleanups = Cleanups()
    cleanups.discard_workspace(tmp_path / "5")
    assert cleanups.pending == 0
