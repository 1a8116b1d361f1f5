"""Clean-up that need not hold a worker's slot: once a build's end is saved, removing its stopped
containers and its workspace runs in the background of the worker process, and the arq job returns.

`Cleanups` tracks that work: a failure is logged, never raised into a build or the worker, and a
stopping worker waits for it with `drain`. What a killed worker leaves behind, the janitor
(containers, by label) and the next process's first workspace removal (the trash) remove.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Awaitable
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

DRAIN_SECONDS = 5.0  # how long a stopping worker waits for its clean-ups by default
TRASH = ".trash"  # beside the workspaces: workspaces on their way out


class Cleanups:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._swept: set[Path] = set()  # trash folders emptied of earlier processes' leftovers

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def defer(self, what: str, work: Awaitable[None]) -> None:
        """Run `work` in the background; its failure is logged as the clean-up of `what`."""
        task = asyncio.create_task(self._run(what, work), name=f"cleanup {what}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def discard_workspace(self, workspace: Path) -> None:
        """Move `workspace` into the trash at once (a build that runs again on this machine gets a
        fresh one, untouched by this removal) and delete it in the background."""
        trash = workspace.parent / TRASH
        target = trash / f"{workspace.name}.{uuid.uuid4().hex[:12]}"
        try:
            trash.mkdir(exist_ok=True)
            os.rename(workspace, target)
        except FileNotFoundError:  # never made (the build ended before its checkout)
            return
        except OSError as exc:  # delete it where it is rather than keep it
            log.warning("workspace not moved to the trash", path=str(workspace), error=str(exc))
            target = workspace
        if trash in self._swept:
            self.defer(f"workspace {workspace.name}", _remove_tree(target))
        else:  # the first time here: also what a process that died left in the trash
            self._swept.add(trash)
            self.defer(f"workspace {workspace.name}", _empty(trash, target))

    async def drain(self, seconds: float = DRAIN_SECONDS) -> bool:
        """Wait up to `seconds` for the pending clean-ups, also those started meanwhile. True when
        none is left; the rest stays running (the janitor removes containers they miss)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while self._tasks:
            remaining = deadline - loop.time()
            if remaining <= 0:
                log.warning("clean-ups still running", pending=len(self._tasks))
                return False
            await asyncio.wait(list(self._tasks), timeout=remaining)
        return True

    @staticmethod
    async def _run(what: str, work: Awaitable[None]) -> None:
        try:
            await work
        except Exception:  # the build's outcome stands; the janitor removes what is left
            log.exception("cleanup failed", what=what)


async def _remove_tree(path: Path) -> None:
    await asyncio.to_thread(shutil.rmtree, path, True)


async def _empty(trash: Path, first: Path) -> None:
    await _remove_tree(first)
    for leftover in await asyncio.to_thread(lambda: list(trash.iterdir())):
        await _remove_tree(leftover)
