"""A container engine without containers: the Engine contract (tingle.executor.base) in memory, for
tests of the runtime (runner, build job, janitor) that must not need Docker.

It keeps the Docker engine's contract (tingle.executor.docker): a step that fails is a *result*,
an engine that fails an *exception* (InfrastructureError); a timed-out step is killed at its
deadline and answers exit 124, `timed_out`; a cancelled step's container keeps running until
`teardown` removes it; `teardown` is always safe, also twice.

What happens is chosen by the step itself. Each command of a RunStep is one of a tiny shell:

    echo WORDS     prints WORDS ($NAME and ${NAME} taken from the step's environment)
    lines N [W]    prints N numbered lines of W bytes each, newline included (W: 100)
    cat PATH       prints a file of the workspace; exit 1 when there is none
    true, false    exit 0, exit 1
    exit N         ends the step with exit code N
    sleep S        sleeps S seconds (a real asyncio sleep: cancels and timeouts land in it)
    oom            the container is killed for memory: exit 137, `out_of_memory`
    explode [MSG]  the engine fails mid-step: InfrastructureError("step '<name>': MSG")

and anything else exits 127, "not found", as `sh` would. As with `step_script`, each command is
echoed first as `+ command`, and the step stops at the first one that fails. An image whose name
starts with `missing/` cannot be pulled (InfrastructureError, before any container is made), and
`FakeEngine(unreachable=True)` fails `setup` as an engine that does not answer.

Images: `build_image` reads the Dockerfile (missing: the repository's fault, as with Docker), says
`Step i/n : LINE` for each line and runs the commands of its `RUN` lines in the same shell: one
that fails is the repository's fault (DeliveryError), `explode` the engine's
(`infrastructure=True`). A tag whose repository has capitals is refused as Docker does (the
repository's fault). `push_image` pushes a tag built before and answers a sha256 digest; a tag
never built, or one whose repository names an `unreachable` registry, fails as infrastructure.

Everything asked is recorded for tests to assert on: `containers` (every one made, with its
build, step, environment and state), `executors` (with their setup and teardown counts),
`built`, `pushed` and `removed_builds`. The engine's owner is always a worker of one Tingle:
`remove_build` and `leftover_builds` see every container it made (not so `tingle exec`'s Docker
engine, whose containers belong to no worker).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shlex
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tingle.errors import DeliveryError, InfrastructureError
from tingle.executor.base import Engine, Executor, LineWriter, OutputHandler, StepResult
from tingle.executor.images import ImageBuild, PushedImage, split_reference
from tingle.plan import RunStep

TIMEOUT_EXIT_CODE = 124  # as tingle.executor.docker answers for a step it killed at its deadline
KILLED_EXIT_CODE = 137  # SIGKILL: what a container killed for its memory, or at a deadline, exits
MISSING_IMAGE_PREFIX = "missing/"
WAIT_SECONDS = 5.0  # how long `wait_running` waits for a step to start

Say = Callable[[str], Awaitable[None]]  # one line of output


@dataclass
class FakeContainer:
    """One step's container, as the engine made it."""

    build_id: str
    step: str
    image: str
    commands: tuple[str, ...]
    env: dict[str, str]
    mounts: dict[str, dict[str, str]]
    state: str = "running"  # running | exited | removed
    exit_code: int | None = None

    @property
    def removed(self) -> bool:
        return self.state == "removed"


@dataclass(eq=False)
class FakeExecutor:
    """The Executor contract for one build; what it made stays on its engine."""

    engine: FakeEngine
    build_id: str = ""
    workspace: Path | None = None
    setups: int = 0
    teardowns: int = 0
    made: list[FakeContainer] = field(default_factory=list)

    async def setup(self, build_id: str, workspace: Path) -> None:
        self.setups += 1
        self.build_id, self.workspace = build_id, workspace
        await asyncio.sleep(0)  # the Docker executor asks the engine: a moment passes
        if self.engine.unreachable:
            raise InfrastructureError("Docker engine unreachable: the fake engine is down")

    async def run(
        self,
        step: RunStep,
        env: Mapping[str, str],
        on_output: OutputHandler,
        mounts: Mapping[str, Mapping[str, str]] | None = None,
    ) -> StepResult:
        assert self.workspace is not None, "setup() first"
        if step.image.startswith(MISSING_IMAGE_PREFIX):
            raise InfrastructureError(f"image '{step.image}' not found and could not be pulled")
        container = FakeContainer(
            self.build_id, step.name, step.image, step.commands, dict(env),
            {host: dict(spec) for host, spec in (mounts or {}).items()},
        )  # fmt: skip
        self.made.append(container)
        self.engine.containers.append(container)

        async def say(line: str) -> None:
            await on_output((line + "\n").encode())

        shell = _Shell(self.workspace, container.env, say)
        try:
            async with asyncio.timeout(step.timeout_seconds):
                exit_code = await shell.run(step.commands, echo=True)
        except TimeoutError:  # killed at the deadline
            container.state, container.exit_code = "exited", KILLED_EXIT_CODE
            return StepResult(exit_code=TIMEOUT_EXIT_CODE, timed_out=True)
        except InfrastructureError as exc:
            container.state = "exited"
            raise InfrastructureError(f"step '{step.name}': {exc}") from exc
        # A CancelledError goes through as it came: the container runs on until teardown.
        container.state, container.exit_code = "exited", exit_code
        return StepResult(exit_code, out_of_memory=shell.out_of_memory)

    async def teardown(self) -> None:
        self.teardowns += 1
        await asyncio.sleep(self.engine.removal_seconds)
        if self.engine.refuse_removal:
            raise InfrastructureError("the fake engine refuses to remove containers")
        for container in self.made:
            container.state = "removed"


class FakeEngine:
    """The Engine contract in memory. `unreachable`: every executor's setup fails;
    `refuse_removal`: every teardown fails (the containers stay, for the janitor);
    `removal_seconds`: how long removing a build's containers takes (a busy engine)."""

    def __init__(
        self, *, unreachable: bool = False, refuse_removal: bool = False, removal_seconds: float = 0
    ) -> None:
        self.unreachable = unreachable
        self.refuse_removal = refuse_removal
        self.removal_seconds = removal_seconds
        self.executors: list[FakeExecutor] = []
        self.containers: list[FakeContainer] = []  # every one made, in order; removed ones too
        self.built: list[ImageBuild] = []
        self.images: dict[str, str] = {}  # tag → id of the image built with it
        self.pushed: list[PushedImage] = []
        self.removed_builds: list[str] = []  # remove_build calls, in order

    # --- the Engine contract ----------------------------------------------------------------

    def executor(self) -> FakeExecutor:
        made = FakeExecutor(self)
        self.executors.append(made)
        return made

    async def build_image(self, image: ImageBuild, on_line: LineWriter) -> str:
        self.built.append(image)
        dockerfile = (image.workspace / image.dockerfile).resolve()
        if not dockerfile.is_relative_to(image.workspace.resolve()):
            raise DeliveryError(f"dockerfile '{image.dockerfile}' is outside the repository")
        if not dockerfile.is_file():
            raise DeliveryError(f"{image.dockerfile}: no such file in this commit")
        for tag in image.tags:
            _check_reference("docker build", tag)
        text = dockerfile.read_text()
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        shell = _Shell(image.workspace / image.context, dict(image.build_args), on_line)
        for number, line in enumerate(lines, 1):
            await on_line(f"Step {number}/{len(lines)} : {line}")
            instruction, _, command = line.partition(" ")
            if instruction.upper() != "RUN":
                continue
            try:
                code = await shell.run((command,), echo=False)
            except InfrastructureError as exc:
                raise DeliveryError(
                    f"docker build: Docker engine: {exc}", infrastructure=True
                ) from exc
            if code:
                raise DeliveryError(
                    f"docker build: The command '/bin/sh -c {command}' returned a non-zero code: "
                    f"{code}"
                )
        image_id = _sha256(text, *image.tags)
        await on_line(f"Successfully built {image_id[7:19]}")
        self.images.update(dict.fromkeys(image.tags, image_id))
        return image_id

    async def push_image(self, tag: str, on_line: LineWriter) -> PushedImage:
        repository, name = split_reference(tag)
        what = f"docker push {tag}"
        _check_reference(what, tag)
        if "unreachable" in repository:
            raise DeliveryError(f"{what}: Docker engine: registry unreachable", infrastructure=True)
        image_id = self.images.get(tag)
        if image_id is None:
            raise DeliveryError(
                f"{what}: An image does not exist locally with the tag: {repository}",
                infrastructure=True,
            )
        await asyncio.sleep(0)
        digest = _sha256(image_id, repository)
        await on_line(f"{name}: digest: {digest} size: 528")
        pushed = PushedImage(repository, name, digest)
        self.pushed.append(pushed)
        return pushed

    async def remove_build(self, build_id: str) -> int:
        self.removed_builds.append(build_id)
        await asyncio.sleep(self.removal_seconds)
        found = self.live(build_id)
        for container in found:
            container.state = "removed"
        return len(found)

    async def leftover_builds(self) -> set[str]:
        return {container.build_id for container in self.live()}

    # --- for tests ----------------------------------------------------------------------------

    def made(self, build_id: str) -> list[FakeContainer]:
        """Every container made for `build_id`, removed ones too."""
        return [c for c in self.containers if c.build_id == build_id]

    def live(self, build_id: str | None = None) -> list[FakeContainer]:
        """The containers not removed (of `build_id`, or of any build)."""
        return [c for c in self.containers if not c.removed and build_id in (None, c.build_id)]

    async def wait_running(self, step: str) -> FakeContainer:
        """The container of `step` once it runs (e.g. sleeps); AssertionError after WAIT_SECONDS."""
        try:
            return await asyncio.wait_for(self._running(step), WAIT_SECONDS)
        except TimeoutError:
            raise AssertionError(f"step '{step}' never ran") from None

    async def _running(self, step: str) -> FakeContainer:
        while True:
            for container in self.containers:
                if container.step == step and container.state == "running":
                    return container
            await asyncio.sleep(0.001)


class _Shell:
    """The few commands a fake step can run (see the module's docstring)."""

    def __init__(self, cwd: Path, env: Mapping[str, str], say: Say) -> None:
        self._cwd = cwd
        self._env = env
        self._say = say
        self.out_of_memory = False

    async def run(self, commands: tuple[str, ...], *, echo: bool) -> int:
        """Run `commands` until one fails; its exit code (0: all passed)."""
        for command in commands:
            if echo:
                await self._say(f"+ {command}")
            code = await self._one(command)
            if code:
                return code
        return 0

    async def _one(self, command: str) -> int:
        name, _, rest = command.strip().partition(" ")
        words = [self._expand(word) for word in shlex.split(rest)]
        printer = {"echo": self._echo, "lines": self._lines}.get(name)
        if printer is not None:
            await printer(words)
        elif name == "cat":
            path = self._cwd / words[0]
            if not path.is_file():
                await self._say(f"cat: can't open '{words[0]}': No such file or directory")
                return 1
            for line in path.read_text().splitlines():
                await self._say(line)
        elif name in ("true", "false"):
            return int(name == "false")
        elif name == "exit":
            return int(words[0]) if words else 0
        elif name == "sleep":
            await asyncio.sleep(float(words[0]))
        elif name == "oom":
            self.out_of_memory = True
            return KILLED_EXIT_CODE
        elif name == "explode":
            raise InfrastructureError(" ".join(words) or "the engine went away")
        else:
            await self._say(f"/bin/sh: 1: {name}: not found")
            return 127
        return 0

    async def _echo(self, words: list[str]) -> None:
        await self._say(" ".join(words))

    async def _lines(self, words: list[str]) -> None:
        """`lines N [W]`: N numbered lines of W bytes, newline included."""
        width = int(words[1]) if len(words) > 1 else 100
        for number in range(1, int(words[0]) + 1):
            head = f"line {number} "
            await self._say(head + "x" * max(0, width - 1 - len(head)))

    def _expand(self, word: str) -> str:
        return re.sub(
            r"\$\{(\w+)\}|\$(\w+)", lambda m: self._env.get(m.group(1) or m.group(2), ""), word
        )


def _check_reference(what: str, tag: str) -> None:
    repository, _ = split_reference(tag)
    if repository != repository.lower():  # what the engine answers (400): the tag's fault
        raise DeliveryError(f"{what}: invalid reference format: repository name must be lowercase")


def _sha256(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _conforms(engine: FakeEngine) -> tuple[Engine, Executor]:
    """Type-checked only: the fakes keep the contracts (mypy fails here when they drift)."""
    return engine, engine.executor()
