"""The build record's lifecycle (tingle/build.py): what each method does to the state, the reason,
the steps and the counters, whoever calls it (runner, build job, janitor, a person)."""

from __future__ import annotations

import dataclasses
import time

import pytest

from tests.engine.helpers import a_build
from tingle.build import Build, BuildState, StepRecord, StepState


def mid_run() -> Build:
    """A build mid-way: one step passed, one failed earlier, one running, one pending."""
    build = a_build(state=BuildState.RUNNING, worker="w:1", attempts=1, started_at=time.time())
    build.steps = [
        StepRecord("lint", state=StepState.SUCCESS, exit_code=0, started_at=1.0, finished_at=2.0),
        StepRecord("flaky", state=StepState.FAILURE, exit_code=1, started_at=2.0, finished_at=3.0),
        StepRecord("test", state=StepState.RUNNING, started_at=3.0),
        StepRecord("pack"),
    ]
    return build


def step_states(build: Build) -> list[StepState]:
    return [s.state for s in build.steps]


def test_start_counts_an_attempt_for_the_worker_that_takes_the_build() -> None:
    build = a_build()
    build.start("w:1")
    build.start("w:2")
    assert (build.worker, build.attempts, build.state) == ("w:2", 2, BuildState.QUEUED)


def test_run_starts_running_afresh() -> None:
    build = a_build(reason="handed back by a worker shutting down")
    before = time.time()
    build.run()
    assert (build.state, build.reason) == (BuildState.RUNNING, None)
    assert build.started_at is not None and build.started_at >= before


@pytest.mark.parametrize(
    "state", [BuildState.SUCCESS, BuildState.FAILURE, BuildState.ERROR, BuildState.SKIPPED]
)
def test_finish_ends_the_running_step_in_error_and_skips_the_pending_ones(
    state: BuildState,
) -> None:
    build = mid_run()
    build.finish(state, "why")
    assert (build.state, build.reason) == (state, "why")
    assert build.finished_at is not None and build.duration is not None
    assert step_states(build) == [StepState.SUCCESS, StepState.FAILURE, StepState.ERROR,
                                  StepState.SKIPPED]  # fmt: skip
    assert build.steps[2].finished_at == build.finished_at
    assert build.steps[3].finished_at is None  # never ran
    assert [s.exit_code for s in build.steps] == [0, 1, None, None]


def test_cancel_ends_the_running_step_cancelled_and_names_the_newer_build() -> None:
    build = mid_run()
    build.cancel("superseded by #8", superseded_by="8")
    assert (build.state, build.reason, build.superseded_by) == (
        BuildState.CANCELLED, "superseded by #8", "8",
    )  # fmt: skip
    assert step_states(build) == [StepState.SUCCESS, StepState.FAILURE, StepState.CANCELLED,
                                  StepState.SKIPPED]  # fmt: skip


def test_a_queued_build_cancelled_has_no_step_to_end() -> None:
    build = a_build()
    build.cancel("cancelled by octocat")
    assert (build.state, build.superseded_by, build.steps) == (BuildState.CANCELLED, None, [])
    assert build.state.terminal


def test_hand_back_queues_the_build_again_with_nothing_of_the_run_but_its_attempts() -> None:
    build = mid_run()
    build.hand_back("handed back by a worker shutting down")
    assert (build.state, build.reason, build.steps, build.worker) == (
        BuildState.QUEUED, "handed back by a worker shutting down", [], None,
    )  # fmt: skip
    assert build.attempts == 1  # the janitor gives up on a build that keeps losing its worker
    assert not build.state.terminal


def test_approve_lets_only_a_held_build_run() -> None:
    held = a_build(state=BuildState.HELD, is_fork=True)
    assert held.approve("octocat") is True
    assert (held.state, held.reason) == (BuildState.QUEUED, "approved by octocat")
    assert held.approve("octocat") is False  # queued now: nothing to approve
    for state in (BuildState.RUNNING, BuildState.CANCELLED):
        other = a_build(state=state)
        assert other.approve("octocat") is False
        assert (other.state, other.reason) == (state, None)


def test_restarted_is_a_new_build_of_the_same_commit_with_nothing_of_the_old_run() -> None:
    old = mid_run()
    old.finish(BuildState.FAILURE, "step 'flaky' failed (exit 1)")
    old.image = "reg/app@sha256:" + "0" * 64
    old.problems = ["a problem"]
    old.delivery_id = "delivery-1"
    old.superseded_by = "9"
    old.logs_archived = True  # its logs moved to the archive: the new build's have not
    snapshot = dataclasses.replace(old, steps=list(old.steps), problems=list(old.problems))

    new = old.restarted()

    assert old == snapshot  # the old record is left as it was
    assert (new.id, new.state, new.reason, new.problems, new.steps) == (
        "", BuildState.QUEUED, None, [], [],
    )  # fmt: skip
    assert (new.attempts, new.worker, new.image, new.delivery_id, new.superseded_by) == (
        0, None, None, None, None,
    )  # fmt: skip
    assert (new.started_at, new.finished_at, new.logs_archived) == (None, None, False)
    assert new.created_at >= old.created_at
    same = ("repo", "sha", "ref", "event", "clone_url", "branch", "pr_number", "is_fork",
            "default_branch", "installation_id", "author", "commit_message")  # fmt: skip
    assert [getattr(new, f) for f in same] == [getattr(old, f) for f in same]
    new.problems.append("x")
    assert old.problems == ["a problem"]  # nothing shared


@pytest.mark.parametrize(
    ("state", "terminal"),
    [(BuildState.HELD, False), (BuildState.QUEUED, False), (BuildState.RUNNING, False),
     (BuildState.SUCCESS, True), (BuildState.FAILURE, True), (BuildState.ERROR, True),
     (BuildState.SKIPPED, True), (BuildState.CANCELLED, True)],
)  # fmt: skip
def test_which_states_are_terminal(state: BuildState, terminal: bool) -> None:
    assert state.terminal is terminal


def test_hold_keeps_a_build_from_any_worker_until_approved() -> None:
    build = a_build()
    build.hold()
    held = build.state
    assert held is BuildState.HELD and not held.terminal
    assert build.approve("octocat")
    assert build.state is BuildState.QUEUED


def test_a_step_begins_then_ends_by_its_result() -> None:
    passed, failed = StepRecord("test"), StepRecord("lint")
    for record in (passed, failed):
        record.begin()
        assert record.state is StepState.RUNNING and record.started_at is not None
    passed.end(0, ok=True)
    failed.end(0, ok=False)  # exit 0 but killed at its deadline or out of memory
    assert (passed.state, passed.exit_code) == (StepState.SUCCESS, 0)
    assert (failed.state, failed.exit_code) == (StepState.FAILURE, 0)
    assert passed.duration is not None and passed.duration >= 0


def test_a_step_the_infrastructure_failed_records_why() -> None:
    record = StepRecord("push")
    record.begin()
    record.fail("registry unreachable")
    assert (record.state, record.error, record.exit_code) == (
        StepState.ERROR,
        "registry unreachable",
        None,
    )
    assert record.finished_at is not None
