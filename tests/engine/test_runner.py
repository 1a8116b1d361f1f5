"""The build runner on the fake engine: what each outcome (pass, a failing step, the engine
failing, timeouts, a cancel) does to the record, the steps, the events reported and the
containers. The build job (tests/worker) puts the store and GitHub around it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from testing.fake_engine import FakeEngine
from tests.engine.conftest import MakeRunner
from tests.engine.helpers import Change, Recorder, a_build, build_info, files, step
from tingle.build import BuildState, StepState
from tingle.engine.cleanups import TRASH, Cleanups
from tingle.settings import Settings

R, S, P = StepState.RUNNING, StepState.SUCCESS, StepState.PENDING


def exists(path: Path | None) -> bool:
    assert path is not None
    return path.exists()


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def states(recorder: Recorder) -> list[StepState]:
    return [s.state for s in recorder.builds[-1].steps]


async def test_a_passing_build_reports_each_change_in_order(
    runner: MakeRunner, engine: FakeEngine, recorder: Recorder
) -> None:
    build = a_build()
    info = build_info(step("hello", "echo hello from $TINGLE_REPO"), step("files", "cat app.txt"))

    done = await runner().run(build, files({"build-info.yaml": info, "app.txt": "the app\n"}))

    assert done is build
    assert (build.state, build.reason) == (BuildState.SUCCESS, None)
    running = BuildState.RUNNING
    assert recorder.changes == [
        Change(running, (), 0),
        Change(running, (("hello", P), ("files", P)), 0),
        Change(running, (("hello", R), ("files", P)), 0),
        Change(running, (("hello", S), ("files", P)), 1),
        Change(running, (("hello", S), ("files", R)), 1),
        Change(running, (("hello", S), ("files", S)), 2),
        Change(BuildState.SUCCESS, (("hello", S), ("files", S)), 0),  # removed, then reported
    ]
    assert [(s.exit_code, s.image, s.kind) for s in build.steps] == [(0, "fake/busybox", "run")] * 2
    assert all(
        s.started_at and s.finished_at and s.finished_at >= s.started_at for s in build.steps
    )
    assert build.started_at and build.finished_at and build.finished_at >= build.started_at
    assert recorder.logs == {
        0: ["+ echo hello from $TINGLE_REPO", "hello from octo/app"],
        1: ["+ cat app.txt", "the app"],
    }
    [executor] = engine.executors
    assert (executor.setups, executor.teardowns) == (1, 1)
    assert [c.step for c in engine.made(build.id)] == ["hello", "files"]
    assert not exists(executor.workspace)  # no cleanups: removed before returning


async def test_steps_see_their_own_variables_and_tingles_which_they_cannot_override(
    runner: MakeRunner, engine: FakeEngine
) -> None:
    info = build_info(
        step("env", "echo $GREETING").replace(
            "    commands:",
            "    env:\n      GREETING: hi\n      TINGLE_BUILD_ID: mine\n    commands:",
        )
    )
    await runner().run(a_build(), files({"build-info.yaml": info}))

    env = engine.containers[0].env
    assert env["GREETING"] == "hi"
    assert (env["TINGLE_BUILD_ID"], env["TINGLE_STEP"], env["CI"]) == ("7", "env", "true")
    assert env["TINGLE_BUILD_URL"] == "http://127.0.0.1:8080/builds/7"
    assert (env["TINGLE_BRANCH"], env["TINGLE_EVENT"], env["TINGLE_PR_NUMBER"]) == (
        "main",
        "push",
        "",
    )


async def test_a_failing_step_fails_the_build_and_the_later_steps_skip(
    runner: MakeRunner, engine: FakeEngine, recorder: Recorder
) -> None:
    build = a_build()
    info = build_info(
        step("lint", "true"), step("test", "echo testing", "exit 3"), step("pack", "true")
    )

    await runner().run(build, files({"build-info.yaml": info}))

    assert (build.state, build.reason) == (BuildState.FAILURE, "step 'test' failed (exit 3)")
    assert states(recorder) == [S, StepState.FAILURE, StepState.SKIPPED]
    assert [s.exit_code for s in build.steps] == [0, 3, None]
    assert build.steps[2].started_at is None
    assert recorder.logs[1] == ["+ echo testing", "testing", "+ exit 3"]
    assert [c.step for c in engine.made(build.id)] == ["lint", "test"]  # `pack` never ran
    assert engine.live() == []


async def test_a_step_out_of_memory_fails_saying_so(runner: MakeRunner, recorder: Recorder) -> None:
    build = a_build()
    await runner().run(build, files({"build-info.yaml": build_info(step("hog", "oom"))}))

    assert (build.state, build.reason) == (
        BuildState.FAILURE,
        "step 'hog' ran out of memory (exit 137)",
    )
    assert build.steps[0].exit_code == 137
    assert recorder.logs[0] == ["+ oom", "tingle: step ran out of memory (exit 137)"]


@pytest.mark.parametrize(
    ("down", "first", "reason", "steps"),
    [
        (False, "explode disk full", "step 'one': disk full", [StepState.ERROR, StepState.SKIPPED]),
        (False, "image:missing/tool", "image 'missing/tool' not found and could not be pulled",
         [StepState.ERROR, StepState.SKIPPED]),
        (True, "true", "Docker engine unreachable: the fake engine is down",
         [StepState.SKIPPED] * 2),
    ],
    ids=["mid-step", "missing-image", "engine-down"],
)  # fmt: skip
async def test_an_engine_failure_ends_the_build_in_error_not_failure(
    runner: MakeRunner,
    engine: FakeEngine,
    recorder: Recorder,
    down: bool,
    first: str,
    reason: str,
    steps: list[StepState],
) -> None:
    engine.unreachable = down
    build = a_build()
    if first.startswith("image:"):
        one = step("one", "true", image=first.removeprefix("image:"))
    else:
        one = step("one", first)
    info = build_info(one, step("two", "true"))

    await runner().run(build, files({"build-info.yaml": info}))

    assert (build.state, build.reason) == (BuildState.ERROR, reason)
    assert states(recorder) == steps
    if steps[0] is StepState.ERROR:  # the step says what went wrong, and when it ended
        assert (build.steps[0].error, build.steps[0].exit_code) == (reason, None)
        assert build.steps[0].finished_at is not None
    assert engine.live() == []
    assert [e.teardowns for e in engine.executors] == [1]


async def test_a_step_that_runs_out_of_time_is_killed_and_fails_the_build(
    runner: MakeRunner, engine: FakeEngine, recorder: Recorder
) -> None:
    build = a_build()
    info = build_info(step("slow", "echo going", "sleep 30", timeout=1), step("after", "true"))

    await runner().run(build, files({"build-info.yaml": info}))

    assert (build.state, build.reason) == (BuildState.FAILURE, "step 'slow' timed out after 1s")
    assert states(recorder) == [StepState.FAILURE, StepState.SKIPPED]
    assert build.steps[0].exit_code == 124
    assert recorder.logs[0] == [
        "+ echo going",
        "going",
        "+ sleep 30",
        "tingle: step timed out after 1s",
    ]
    assert engine.live() == []


async def test_a_build_that_runs_out_of_time_stops_its_containers_before_its_end_is_reported(
    runner: MakeRunner, engine: FakeEngine, recorder: Recorder
) -> None:
    engine.removal_seconds = 0.1  # were the removal deferred, the end would be reported first
    build = a_build()
    info = build_info(step("first", "true"), step("slow", "sleep 30"), step("never", "true"))
    cleanups = Cleanups()  # a worker's: a settled build's containers would wait for it

    await runner(cleanups=cleanups, build_timeout_seconds=1).run(
        build, files({"build-info.yaml": info})
    )

    assert (build.state, build.reason) == (BuildState.FAILURE, "build timed out after 1s")
    assert states(recorder) == [S, StepState.ERROR, StepState.SKIPPED]  # the running one: error
    assert recorder.changes[-1].containers == 0  # none left running when the end was reported
    assert await cleanups.drain(5)


async def test_a_settled_builds_containers_and_workspace_go_in_the_background(
    runner: MakeRunner, engine: FakeEngine, recorder: Recorder
) -> None:
    engine.removal_seconds = 0.1  # a busy engine: the build's end need not wait for it
    build = a_build()
    cleanups = Cleanups()

    await runner(cleanups=cleanups).run(
        build, files({"build-info.yaml": build_info(step("a", "true"))})
    )

    assert build.state is BuildState.SUCCESS
    assert recorder.changes[-1].containers == 1  # the end is reported first: its removal waits
    [executor] = engine.executors
    assert not exists(executor.workspace)  # in the trash at once, for a next run to start afresh
    assert cleanups.pending > 0
    assert await cleanups.drain(5)
    assert (executor.teardowns, engine.live()) == (1, [])
    assert executor.workspace is not None
    assert listing(executor.workspace.parent / TRASH) == []


async def test_a_cancelled_run_removes_its_containers_and_leaves_the_end_to_its_caller(
    runner: MakeRunner, engine: FakeEngine, recorder: Recorder
) -> None:
    engine.removal_seconds = 0.1
    build = a_build()
    info = build_info(step("long", "echo started", "sleep 30"), step("after", "true"))
    task = asyncio.create_task(
        runner(cleanups=Cleanups()).run(build, files({"build-info.yaml": info}))
    )
    await engine.wait_running("long")

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert engine.live() == []  # removed before the cancel went on: it may run again elsewhere
    assert engine.executors[0].teardowns == 1
    assert build.state is BuildState.RUNNING  # cancelled or handed back: the build job decides
    assert recorder.changes[-1].steps == (("long", R), ("after", P))


async def test_a_failing_clean_up_changes_no_outcome(
    runner: MakeRunner, engine: FakeEngine, recorder: Recorder
) -> None:
    engine.refuse_removal = True
    build = a_build()

    await runner().run(build, files({"build-info.yaml": build_info(step("a", "true"))}))

    assert build.state is BuildState.SUCCESS
    assert recorder.changes[-1].state is BuildState.SUCCESS
    assert len(engine.live(build.id)) == 1  # left for the janitor


async def test_a_commit_without_build_info_is_skipped_without_a_container(
    runner: MakeRunner, engine: FakeEngine, recorder: Recorder
) -> None:
    build = a_build()
    await runner().run(build, files({"README.md": "hello\n"}))

    assert (build.state, build.reason) == (BuildState.SKIPPED, "no build-info.yaml in this commit")
    assert [c.state for c in recorder.changes] == [BuildState.RUNNING, BuildState.SKIPPED]
    assert engine.containers == []
    assert engine.executors[0].setups == 0


async def test_a_broken_build_info_fails_with_every_problem_and_runs_nothing(
    runner: MakeRunner, engine: FakeEngine
) -> None:
    build = a_build()
    info = "version: 2\nsteps:\n  - name: a\n    image: x\n    commands: []\n    colour: red\n"

    await runner().run(build, files({"build-info.yaml": info}))

    assert build.state is BuildState.FAILURE
    assert len(build.problems) == 2 and build.reason == build.problems[0]
    assert all(p.startswith("build-info.yaml:") for p in build.problems)
    assert (build.steps, engine.containers) == ([], [])


def docker_template(registry: str) -> str:
    return f"version: 2\ntemplate:\n  type: docker\n  registry: {registry}\n"


async def test_an_image_is_built_pushed_and_pinned_on_the_build(
    runner: MakeRunner, engine: FakeEngine, recorder: Recorder
) -> None:
    build = a_build()
    fetch = files(
        {
            "build-info.yaml": docker_template("127.0.0.1:5000"),
            "Dockerfile": "FROM base\nRUN echo built\n",
        }
    )

    await runner().run(build, fetch)

    assert build.state is BuildState.SUCCESS, build.reason
    assert [(s.name, s.kind, s.state) for s in build.steps] == [
        ("build", "build_image", S),
        ("push", "push_image", S),
    ]
    # The operator's registry (TINGLE_REGISTRY), not the template's `registry`, which is ignored.
    own = "localhost:5000/octo/app"
    sha_tag, main_tag = f"{own}:{build.sha[:12]}", f"{own}:main"
    [image] = engine.built
    assert image.tags == (sha_tag, main_tag)  # the default branch's tag too
    assert image.cache_from == (main_tag,)
    assert image.labels["org.opencontainers.image.revision"] == build.sha
    assert [f"{p.repository}:{p.tag}" for p in engine.pushed] == [sha_tag, main_tag]
    assert build.image == f"{own}@{engine.pushed[0].digest}"
    assert build.image_tags == [sha_tag, main_tag]  # what the build page and API show
    assert recorder.logs[0][:4] == [
        f"building {sha_tag}, {main_tag}",
        "Step 1/2 : FROM base",
        "Step 2/2 : RUN echo built",
        "built",
    ]
    assert recorder.logs[1][-1] == f"pushed {build.image}"


async def test_a_broken_dockerfile_fails_the_image_step(
    runner: MakeRunner, engine: FakeEngine, recorder: Recorder
) -> None:
    build = a_build()
    fetch = files(
        {"build-info.yaml": docker_template("reg"), "Dockerfile": "FROM base\nRUN exit 2\n"}
    )

    await runner().run(build, fetch)

    message = "docker build: The command '/bin/sh -c exit 2' returned a non-zero code: 2"
    assert (build.state, build.reason) == (BuildState.FAILURE, f"step 'build' failed: {message}")
    assert states(recorder) == [StepState.FAILURE, StepState.SKIPPED]
    assert recorder.logs[0][-1] == message
    assert (engine.pushed, build.image) == ([], None)


async def test_a_registry_that_cannot_be_reached_is_an_error(
    runner: MakeRunner, recorder: Recorder
) -> None:
    build = a_build(repo="octo/unreachable")  # the fake engine's registry cannot reach it
    fetch = files(
        {"build-info.yaml": docker_template("unreachable:5000"), "Dockerfile": "FROM base\n"}
    )

    await runner().run(build, fetch)

    tag = f"localhost:5000/octo/unreachable:{build.sha[:12]}"
    reason = f"step 'push': docker push {tag}: Docker engine: registry unreachable"
    assert (build.state, build.reason) == (BuildState.ERROR, reason)
    assert states(recorder) == [S, StepState.ERROR]
    assert build.steps[1].error == reason


async def test_the_builds_log_cap_is_shared_by_its_steps_and_later_output_only_counted(
    runner: MakeRunner, recorder: Recorder
) -> None:
    """TINGLE_BUILD_LOG_LIMIT (issue 14): 40 bytes for the whole build. The first step's 29 bytes
    fit; the second's first line does not, so it and every later step keep only the notice."""
    build = a_build()
    info = build_info(*(step(name, "echo " + "x" * 10) for name in ("one", "two", "three")))

    await runner(build_log_limit=40).run(build, files({"build-info.yaml": info}))

    assert build.state is BuildState.SUCCESS  # a cut log fails nothing
    notice = (
        "tingle: log truncated: the build's logs reached their cap of 40 bytes; "
        "2 more lines (29 bytes) were not kept"
    )
    assert recorder.logs == {0: ["+ echo xxxxxxxxxx", "x" * 10], 1: [notice], 2: [notice]}
    assert [s.log_truncated for s in build.steps] == [False, True, True]


def test_log_caps_are_read_in_bytes_and_0_or_empty_means_none() -> None:
    defaults = Settings.from_env({})
    assert (defaults.step_log_limit, defaults.build_log_limit) == (64 * 1024**2, 256 * 1024**2)
    for none in ("0", ""):
        read = Settings.from_env({"TINGLE_STEP_LOG_LIMIT": none, "TINGLE_BUILD_LOG_LIMIT": none})
        assert (read.step_log_limit, read.build_log_limit) == (None, None)
    assert Settings.from_env({"TINGLE_BUILD_LOG_LIMIT": "1000"}).build_log_limit == 1000
    with pytest.raises(ValueError, match="negative"):
        Settings.from_env({"TINGLE_BUILD_LOG_LIMIT": "-1"})
