"""What GitHub is shown for a build's states: the commit statuses each state makes (pure), and what
`Feedback` posts, through the GitHub fake, as one build changes: only statuses that changed, and
the pull request's comment at the build's start and end only."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.engine.helpers import a_build
from tingle.build import Build, BuildState, StepRecord, StepState
from tingle.forge.factory import github_clients
from tingle.forge.feedback import Feedback, make_feedback
from tingle.forge.statuses import commit_statuses
from tingle.queue import connect
from tingle.settings import Settings
from tingle.store import BuildStore

URL = "http://tingle.test/builds/7"
F, E, S, C = StepState.FAILURE, StepState.ERROR, StepState.SUCCESS, StepState.CANCELLED
K, P, R = StepState.SKIPPED, StepState.PENDING, StepState.RUNNING


def shown(build: Build) -> list[tuple[str, str, str]]:
    return [
        (s.context, s.state, s.description)
        for s in commit_statuses(build, context="tingle", target_url=URL)
    ]


def with_steps(state: BuildState, reason: str | None, *steps: StepState) -> Build:
    build = a_build(state=state, reason=reason, started_at=100.0)
    if state.terminal:
        build.finished_at = 165.0
    build.steps = [
        StepRecord(f"s{n}", state=s, started_at=100.0, finished_at=110.0 if s is S else None)
        for n, s in enumerate(steps)
    ]
    return build


@pytest.mark.parametrize(
    ("build", "statuses"),
    [
        (with_steps(BuildState.HELD, None),
         [("tingle", "pending", "Build #7 waits for a maintainer's approval (from a fork)")]),
        (with_steps(BuildState.QUEUED, "handed back by a worker shutting down"),
         [("tingle", "pending", "Build #7 queued")]),
        (with_steps(BuildState.RUNNING, None, P, P),
         [("tingle", "pending", "Build #7 running"), ("tingle/test", "pending", "test: waiting")]),
        (with_steps(BuildState.RUNNING, None, S, R),
         [("tingle", "pending", "Build #7 running"), ("tingle/test", "pending", "test: running")]),
        (with_steps(BuildState.SUCCESS, None, S, S),
         [("tingle", "success", "Build #7 passed in 1m05s"),
          ("tingle/test", "success", "test: s0, s1 passed in 20s")]),
        (with_steps(BuildState.FAILURE, "step 's1' failed (exit 3)", S, F, K),
         [("tingle", "failure", "Build #7 failed: step 's1' failed (exit 3)"),
          ("tingle/test", "failure", "test: step 's1' failed")]),
        (with_steps(BuildState.FAILURE, "build timed out after 60s", S, E, K),
         [("tingle", "failure", "Build #7 failed: build timed out after 60s"),
          ("tingle/test", "error", "test: errored: build timed out after 60s")]),
        (with_steps(BuildState.FAILURE, "build-info.yaml:3:5 steps[0]: unknown key"),
         [("tingle", "failure", "Build #7 failed: build-info.yaml:3:5 steps[0]: unknown key")]),
        (with_steps(BuildState.ERROR, "step 's0': disk full", E, K),
         [("tingle", "error", "Build #7 errored: step 's0': disk full"),
          ("tingle/test", "error", "test: errored: step 's0': disk full")]),
        (with_steps(BuildState.ERROR, "Docker engine unreachable", K, K),
         [("tingle", "error", "Build #7 errored: Docker engine unreachable"),
          ("tingle/test", "error", "test: not run: the build error before it")]),
        (with_steps(BuildState.CANCELLED, "superseded by #8", S, C, K),
         [("tingle", "error", "Build #7 cancelled: superseded by #8"),
          ("tingle/test", "error", "test: cancelled")]),
        (with_steps(BuildState.CANCELLED, "cancelled by octocat"),
         [("tingle", "error", "Build #7 cancelled: cancelled by octocat")]),
        (with_steps(BuildState.SKIPPED, "no build-info.yaml in this commit"),
         [("tingle", "success", "Build #7 skipped: no build-info.yaml in this commit")]),
    ],
    ids=["held", "queued", "compiled", "running", "passed", "failed", "timed-out", "broken-file",
         "errored", "engine-down", "cancelled", "cancelled-queued", "skipped"],
)  # fmt: skip
def test_each_state_shows_as_github_states_with_a_reason(
    build: Build, statuses: list[tuple[str, str, str]]
) -> None:
    assert shown(build) == statuses


def test_a_finished_builds_statuses_are_all_terminal() -> None:
    for state in (s for s in BuildState if s.terminal):
        build = with_steps(BuildState.RUNNING, None, S, R, P)
        build.finish(state, "why")
        assert all(status != "pending" for _, status, _ in shown(build)), state


def test_each_stage_has_its_own_context() -> None:
    build = with_steps(BuildState.RUNNING, None, S, R, P)
    build.steps[1].kind, build.steps[2].kind = "build_image", "deploy"
    assert shown(build) == [
        ("tingle", "pending", "Build #7 running"),
        ("tingle/test", "success", "test: s0 passed in 10s"),
        ("tingle/image", "pending", "image: running"),
        ("tingle/deploy", "pending", "deploy: waiting"),
    ]


@pytest.fixture
async def feedback(settings: Settings, fake_github: Any) -> AsyncIterator[Feedback]:
    """A worker's feedback, posting to the GitHub fake."""
    pool = connect(settings.redis_url)
    yield make_feedback(pool, BuildStore(pool), settings, github_clients(settings))
    await pool.aclose()


async def test_a_pull_requests_build_posts_only_what_changed_and_comments_at_start_and_end(
    feedback: Feedback, fake_github: Any
) -> None:
    build = a_build(event="pull_request", pr_number=5, branch="feature")
    posted: list[list[tuple[str, str, str]]] = []
    comments: list[str] = []

    async def change() -> None:
        """Tell feedback, wait for its posts, and note what GitHub got from this change."""
        before = len(fake_github.statuses(build.repo, build.sha))
        await feedback.build_changed(build)
        await feedback.publisher.drain()
        got = fake_github.statuses(build.repo, build.sha)[before:]
        posted.append(sorted((s["context"], s["state"], s["description"]) for s in got))
        found = fake_github.comments(build.repo, 5)
        comments.append(found[0]["body"] if found else "")

    await change()  # queued
    build.run()
    await change()
    build.steps = [StepRecord("lint"), StepRecord("test")]
    await change()
    build.steps[0].state = R
    await change()
    build.steps[0].state, build.steps[1].state = S, R  # the stage's text stays "running"
    await change()
    build.steps[1].state = F
    build.steps[0].started_at = build.steps[0].finished_at = time.time()
    build.finish(BuildState.FAILURE, "step 'test' failed (exit 1)")
    await change()

    assert posted == [
        [("tingle", "pending", "Build #7 queued")],
        [("tingle", "pending", "Build #7 running")],
        [("tingle/test", "pending", "test: waiting")],
        [("tingle/test", "pending", "test: running")],
        [],  # nothing GitHub shows changed
        [("tingle", "failure", "Build #7 failed: step 'test' failed (exit 1)"),
         ("tingle/test", "failure", "test: step 'test' failed")],
    ]  # fmt: skip
    assert len(fake_github.comments(build.repo, 5)) == 1  # one comment, edited
    assert "is queued" in comments[0]
    assert comments[1:5] == [comments[0]] * 4  # the comment follows the start and the end only
    assert "failed" in comments[5] and "test" in comments[5]


async def test_a_push_build_has_no_comment(feedback: Feedback, fake_github: Any) -> None:
    build = a_build(state=BuildState.SUCCESS, started_at=1.0, finished_at=2.0)
    await feedback.build_changed(build)
    await feedback.publisher.drain()
    assert [s["state"] for s in fake_github.statuses(build.repo, build.sha)] == ["success"]
    assert fake_github.requests_to("POST", "/repos/octo/app/issues/*/comments") == []
