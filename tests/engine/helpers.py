"""What the runtime's tests on the fake engine share: build-info.yaml text, a build record, a fetch
that writes files, and BuildEvents that remember every change the runner reported."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testing.fake_engine import FakeEngine
from tingle.build import Build, BuildState, StepState
from tingle.engine.runner import Fetch

IMAGE = "fake/busybox"  # any image but `missing/...` runs on the fake engine


def build_info(*steps: str, head: str = "version: 2\n") -> str:
    return head + "steps:\n" + "".join(steps)


def step(name: str, *commands: str, timeout: int | None = None, image: str = IMAGE) -> str:
    """One run step of a build-info.yaml."""
    listed = "".join(f"      - {json.dumps(c)}\n" for c in commands)
    limit = f"    timeout: {timeout}\n" if timeout is not None else ""
    return f"  - name: {name}\n    image: {image}\n{limit}    commands:\n{listed}"


def a_build(**changes: Any) -> Build:
    """A push to octo/app's default branch, queued."""
    fields: dict[str, Any] = {
        "id": "7",
        "repo": "octo/app",
        "sha": "a" * 40,
        "ref": "refs/heads/main",
        "event": "push",
        "clone_url": "https://github.com/octo/app.git",
        "branch": "main",
        "default_branch": "main",
    }
    return Build(**{**fields, **changes})


def files(contents: Mapping[str, str]) -> Fetch:
    """A Fetch that writes `contents` (path → text) into the workspace, as a checkout would."""

    async def fetch(workspace: Path) -> None:
        for name, text in contents.items():
            target = workspace / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)

    return fetch


@dataclass(frozen=True)
class Change:
    """What the runner reported at one `changed`: the build's state and its steps' states, and
    how many of the build's containers were left on the engine at that moment."""

    state: BuildState
    steps: tuple[tuple[str, StepState], ...]
    containers: int


class Recorder:
    """BuildEvents in memory: every change reported, in order, and each step's log lines."""

    def __init__(self, engine: FakeEngine) -> None:
        self._engine = engine
        self.changes: list[Change] = []
        self.builds: list[Build] = []  # a copy of the record at each change
        self.logs: dict[int, list[str]] = {}

    async def changed(self, build: Build) -> None:
        steps = tuple((s.name, s.state) for s in build.steps)
        self.changes.append(Change(build.state, steps, len(self._engine.live(build.id))))
        self.builds.append(copy.deepcopy(build))

    async def append_log(self, build_id: str, step_index: int, first_line: int, text: str) -> str:
        lines = self.logs.setdefault(step_index, [])
        assert first_line == len(lines) + 1, "log lines come in order, each once"
        lines.extend(text.split("\n"))
        return f"{first_line}-0"
