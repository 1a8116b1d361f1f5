"""The engine contracts: everything the runtime asks of a container engine, whatever it is.

`Engine` is what a worker (or `tingle exec`) holds for its lifetime: it makes one `Executor` per
build (which runs that build's steps and removes their containers), builds and pushes images, and
finds and removes what builds left behind (their worker was killed). Docker implements both
(tingle.executor.docker, the only modules that import the docker SDK); tests use a fake.

A step that fails is a *result* (its exit code). An exception (InfrastructureError) means the
infrastructure failed: the engine is down, the image does not exist. The runner reports the first
as GitHub `failure` and the second as `error`. Image builds and pushes raise DeliveryError, which
says which of the two it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tingle.executor.images import ImageBuild, PushedImage, RegistryAuth
from tingle.plan import RunStep

OutputHandler = Callable[[bytes], Awaitable[None]]  # a step's raw output, as it comes
LineWriter = Callable[[str], Coroutine[Any, Any, None]]  # one line of an image build's output

WORKSPACE_PATH = "/workspace"  # where steps see the checked-out commit


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
        """Run one step to its end, passing its output to `on_output` as it comes. Output waits
        for `on_output` (a slow consumer holds the step back; nothing queues without bound). At
        the step's deadline it is killed: output not yet passed on by then is discarded, and the
        step ends then, however much it was still printing."""

    async def teardown(self) -> None:
        """Remove everything setup and run made. Always safe to call, also twice."""


@dataclass(frozen=True)
class EngineOptions:
    """How a worker (or `tingle exec`) runs containers, and whose they are."""

    network: str = "bridge"
    memory: str = ""  # per step container, e.g. "2g"; "" = no limit
    cpus: float = 0.0  # 0 = no limit
    pids: int = 4096
    worker: str | None = None  # labels the containers with their worker and instance, so the
    instance: str | None = None  # janitor can find those of dead workers; None for `tingle exec`
    registry_auth: RegistryAuth | None = None
    pull_missing: bool = True


class Engine(Protocol):
    def executor(self) -> Executor:
        """A fresh executor for one build's run steps."""

    async def build_image(self, image: ImageBuild, on_line: LineWriter) -> str:
        """Build `image`; its id. DeliveryError when it fails (`infrastructure` when the engine
        failed rather than the repository's Dockerfile)."""

    async def push_image(self, tag: str, on_line: LineWriter) -> PushedImage:
        """Push one tag; the digest the registry recorded. DeliveryError when it fails."""

    async def remove_build(self, build_id: str) -> int:
        """Remove every container this engine's owner made for `build_id`; how many there were."""

    async def leftover_builds(self) -> set[str]:
        """The builds that have containers of this engine's owner (running or not)."""


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
