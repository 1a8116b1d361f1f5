"""The fake engine (testing/fake_engine.py) keeps the Docker engine's contract: the runtime's tests
on it are only worth what this fake is."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from testing import fake_engine
from testing.fake_engine import FakeEngine, FakeExecutor
from tingle.errors import DeliveryError, InfrastructureError
from tingle.executor.base import StepResult
from tingle.executor.images import ImageBuild
from tingle.plan import RunStep


class Output:
    """What a step printed, as the runner's log writer receives it (bytes, in chunks)."""

    def __init__(self) -> None:
        self.data = b""

    async def __call__(self, chunk: bytes) -> None:
        self.data += chunk

    @property
    def lines(self) -> list[str]:
        return self.data.decode().splitlines()


async def ready(engine: FakeEngine, workspace: Path, build_id: str = "1") -> FakeExecutor:
    executor = engine.executor()
    await executor.setup(build_id, workspace)
    return executor


def run_step(*commands: str, timeout: int | None = None, image: str = "fake/sh") -> RunStep:
    return RunStep("s", image, commands, timeout_seconds=timeout)


async def test_commands_are_echoed_and_run_until_one_fails(tmp_path: Path) -> None:
    (tmp_path / "app.txt").write_text("the app\n")
    engine = FakeEngine()
    executor = await ready(engine, tmp_path)
    out = Output()
    step = run_step("echo hi $WHO ${WHO}!", "cat app.txt", "exit 3", "echo never")

    result = await executor.run(step, {"WHO": "you"}, out)

    assert result == StepResult(exit_code=3)
    assert out.lines == ["+ echo hi $WHO ${WHO}!", "hi you you!", "+ cat app.txt", "the app",
                         "+ exit 3"]  # fmt: skip
    [container] = engine.made("1")
    assert (container.step, container.state, container.exit_code) == ("s", "exited", 3)
    assert container.env == {"WHO": "you"}


@pytest.mark.parametrize(
    ("command", "result", "said"),
    [
        ("true", StepResult(0), []),
        ("false", StepResult(1), []),
        ("cat no.txt", StepResult(1), ["cat: can't open 'no.txt': No such file or directory"]),
        ("make all", StepResult(127), ["/bin/sh: 1: make: not found"]),
        ("oom", StepResult(137, out_of_memory=True), []),
    ],
)  # fmt: skip
async def test_each_command_answers_as_sh_would(
    tmp_path: Path, command: str, result: StepResult, said: list[str]
) -> None:
    out = Output()
    assert await (await ready(FakeEngine(), tmp_path)).run(run_step(command), {}, out) == result
    assert out.lines == [f"+ {command}", *said]


async def test_lines_prints_that_many_lines_of_that_width(tmp_path: Path) -> None:
    out = Output()
    executor = await ready(FakeEngine(), tmp_path)

    assert await executor.run(run_step("lines 1000", "lines 2 20"), {}, out) == StepResult(0)

    printed = out.data.split(b"\n", 1)[1]  # after the echoed command
    first, second = printed.split(b"+ lines 2 20\n")
    assert len(first) == 1000 * 100 and first.startswith(b"line 1 xx")
    assert second == b"line 1 xxxxxxxxxxxx\nline 2 xxxxxxxxxxxx\n"


async def test_an_engine_failure_is_an_exception_naming_the_step(tmp_path: Path) -> None:
    executor = await ready(FakeEngine(), tmp_path)
    with pytest.raises(InfrastructureError, match=r"^step 's': disk full$"):
        await executor.run(run_step("explode disk full"), {}, Output())
    with pytest.raises(InfrastructureError, match="image 'missing/x' not found"):
        await executor.run(run_step("true", image="missing/x"), {}, Output())


async def test_an_unreachable_engine_fails_setup(tmp_path: Path) -> None:
    with pytest.raises(InfrastructureError, match="unreachable"):
        await ready(FakeEngine(unreachable=True), tmp_path)


async def test_a_step_is_killed_at_its_deadline_keeping_what_it_printed(tmp_path: Path) -> None:
    engine = FakeEngine()
    out = Output()
    loop = asyncio.get_running_loop()
    started = loop.time()

    result = await (await ready(engine, tmp_path)).run(
        run_step("echo going", "sleep 30", timeout=1), {}, out
    )

    assert 1 <= loop.time() - started < 5  # at the deadline, not after the 30s sleep
    assert result == StepResult(exit_code=124, timed_out=True)
    assert out.lines == ["+ echo going", "going", "+ sleep 30"]
    assert engine.containers[0].state == "exited"


async def test_a_cancelled_steps_container_runs_on_until_teardown_which_is_safe_twice(
    tmp_path: Path,
) -> None:
    engine = FakeEngine()
    executor = await ready(engine, tmp_path, "9")
    task = asyncio.create_task(executor.run(run_step("sleep 30"), {}, Output()))
    container = await engine.wait_running("s")

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert container.state == "running"
    assert await engine.leftover_builds() == {"9"}
    await executor.teardown()
    await executor.teardown()
    assert (executor.teardowns, engine.live()) == (2, [])
    assert await engine.leftover_builds() == set()


async def test_remove_build_removes_what_any_executor_left_of_that_build(tmp_path: Path) -> None:
    engine = FakeEngine()
    for build_id in ("1", "2"):
        await (await ready(engine, tmp_path, build_id)).run(run_step("true"), {}, Output())
    assert await engine.leftover_builds() == {"1", "2"}  # exited, not removed: still there

    assert await engine.remove_build("1") == 1
    assert await engine.remove_build("1") == 0
    assert await engine.leftover_builds() == {"2"}
    assert engine.removed_builds == ["1", "1"]


async def test_a_refused_removal_raises_and_leaves_the_containers(tmp_path: Path) -> None:
    engine = FakeEngine(refuse_removal=True)
    executor = await ready(engine, tmp_path)
    await executor.run(run_step("true"), {}, Output())
    with pytest.raises(InfrastructureError):
        await executor.teardown()
    assert len(engine.live("1")) == 1


async def say_into(lines: list[str], line: str) -> None:
    lines.append(line)


async def test_an_image_is_built_tagged_and_pushed_to_a_digest(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM base\nRUN echo $GREETING\n")
    engine = FakeEngine()
    lines: list[str] = []
    tags = ("reg:5000/app:abc", "reg:5000/app:main")
    image = ImageBuild(tmp_path, tags, build_args={"GREETING": "hello"})

    image_id = await engine.build_image(image, lambda line: say_into(lines, line))
    pushed = await engine.push_image(tags[1], lambda line: say_into(lines, line))

    assert image_id.startswith("sha256:")
    assert lines[:3] == ["Step 1/2 : FROM base", "Step 2/2 : RUN echo $GREETING", "hello"]
    assert (pushed.repository, pushed.tag) == ("reg:5000/app", "main")
    assert len(pushed.digest) == len("sha256:") + 64
    assert engine.built == [image]
    assert engine.pushed == [pushed]


@pytest.mark.parametrize(
    ("dockerfile", "tag", "message", "infrastructure"),
    [
        (None, "reg/app:1", "Dockerfile: no such file in this commit", False),
        ("FROM base\nRUN exit 2\n", "reg/app:1",
         "docker build: The command '/bin/sh -c exit 2' returned a non-zero code: 2", False),
        ("FROM base\nRUN explode no space left\n", "reg/app:1",
         "docker build: Docker engine: no space left", True),
        ("FROM base\n", "reg/App:1",
         "docker build: invalid reference format: repository name must be lowercase", False),
    ],
)  # fmt: skip
async def test_a_failed_image_build_says_whose_fault_it_was(
    tmp_path: Path, dockerfile: str | None, tag: str, message: str, infrastructure: bool
) -> None:
    if dockerfile is not None:
        (tmp_path / "Dockerfile").write_text(dockerfile)
    lines: list[str] = []
    with pytest.raises(DeliveryError) as failed:
        await FakeEngine().build_image(
            ImageBuild(tmp_path, (tag,)), lambda line: say_into(lines, line)
        )
    assert (str(failed.value), failed.value.infrastructure) == (message, infrastructure)


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("reg/never-built:1", "An image does not exist locally with the tag: reg/never-built"),
        ("unreachable:5000/app:1", "Docker engine: registry unreachable"),
    ],
)
async def test_a_push_that_fails_is_the_infrastructures_fault(
    tmp_path: Path, tag: str, message: str
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM base\n")
    engine = FakeEngine()
    lines: list[str] = []
    await engine.build_image(
        ImageBuild(tmp_path, ("unreachable:5000/app:1",)), lambda line: say_into(lines, line)
    )
    with pytest.raises(DeliveryError) as failed:
        await engine.push_image(tag, lambda line: say_into(lines, line))
    assert str(failed.value) == f"docker push {tag}: {message}"
    assert failed.value.infrastructure
    assert engine.pushed == []


def test_a_timed_out_step_answers_what_the_docker_executor_answers() -> None:
    from tingle.executor import docker  # the module only: nothing here talks to an engine

    assert fake_engine.TIMEOUT_EXIT_CODE == docker.TIMEOUT_EXIT_CODE
