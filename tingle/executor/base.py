"""The executor contract: how a runner runs steps, whatever runs them.

A step that fails is a *result* (its exit code). An exception (InfrastructureError) means the
infrastructure failed: the engine is down, the image does not exist. The runner reports the first
as GitHub `failure` and the second as `error`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tingle.plan import RunStep

OutputHandler = Callable[[bytes], Awaitable[None]]

WORKSPACE_PATH = "/workspace"  # where steps see the checked-out commit


class InfrastructureError(Exception):
    """Something other than the build's own code failed; the message is shown to users."""


@dataclass(frozen=True)
class StepResult:
    exit_code: int
    timed_out: bool = False
    out_of_memory: bool = False
    message: str | None = None  # why a step that is not a container failed, in one line

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.out_of_memory


class Executor(Protocol):
    async def setup(self, build_id: str, workspace: Path) -> None:
        """Prepare to run the build's steps (check the engine, create shared resources)."""

    async def run(
        self,
        step: RunStep,
        env: Mapping[str, str],
        on_output: OutputHandler,
        mounts: Mapping[str, Mapping[str, str]] | None = None,
    ) -> StepResult:
        """Run one step to its end, passing its output to `on_output` as it comes."""

    async def teardown(self) -> None:
        """Remove everything setup and run made. Always safe to call, also twice."""


def step_script(commands: tuple[str, ...]) -> str:
    """A POSIX shell script that echoes each command, runs it, and stops at the first failure."""
    # One stream, in order: Docker copies stdout and stderr separately and may reorder them.
    lines = ["exec 2>&1", "set -e"]
    for command in commands:
        lines.append(f"printf '%s\\n' {_shell_quote('+ ' + command)}")
        lines.append(command)
    return "\n".join(lines) + "\n"


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"
