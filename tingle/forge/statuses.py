"""Which commit statuses a build shows (pure): one overall context, `tingle`, and one per stage
(`tingle/test`, `tingle/image`, `tingle/deploy`) once the plan is known.

Every status of a finished build is terminal: a stage that never ran because the build ended
before it (a failure, a cancel) says so as `error`, instead of staying `pending` forever.
"""

from __future__ import annotations

from dataclasses import dataclass

from tingle.build import Build, BuildState, StepRecord, StepState
from tingle.forge.github import describe

STAGE_OF_KIND = {"run": "test", "build_image": "image", "push_image": "image", "deploy": "deploy"}


def stage_of(kind: str) -> str:
    """The stage (and so the status context) a step of `kind` reports under."""
    return STAGE_OF_KIND.get(kind, "test")


def status_contexts(kinds: list[str], context: str) -> list[str]:
    """The contexts a build whose steps are of `kinds` posts: the overall one, then one per
    stage in the order its first step comes (what `commit_statuses` posts; `tingle plan`)."""
    stages = dict.fromkeys(stage_of(kind) for kind in kinds)
    return [context, *(f"{context}/{stage}" for stage in stages)]


@dataclass(frozen=True)
class CommitStatus:
    state: str  # pending | success | failure | error
    description: str
    target_url: str
    context: str


_BUILD_STATE: dict[BuildState, tuple[str, str]] = {
    BuildState.HELD: ("pending", "waits for a maintainer's approval (from a fork)"),
    BuildState.QUEUED: ("pending", "queued"),
    BuildState.RUNNING: ("pending", "running"),
    BuildState.SUCCESS: ("success", "passed"),
    BuildState.FAILURE: ("failure", "failed"),
    BuildState.ERROR: ("error", "errored"),
    BuildState.SKIPPED: ("success", "skipped"),
    BuildState.CANCELLED: ("error", "cancelled"),  # GitHub has no "cancelled" state
}


def status_for(build: Build, *, context: str, target_url: str) -> CommitStatus:
    """The overall status of a build in its current state."""
    state, text = _BUILD_STATE[build.state]
    description = f"Build #{build.id} {text}"
    if build.state.terminal and build.state is not BuildState.SUCCESS and build.reason:
        description += f": {build.reason}"
    elif build.state is BuildState.SUCCESS and build.duration is not None:
        description += f" in {_human_seconds(build.duration)}"
    return CommitStatus(state, describe(description), target_url, context)


def commit_statuses(build: Build, *, context: str, target_url: str) -> list[CommitStatus]:
    """The overall status, then one per stage of the build's plan."""
    statuses = [status_for(build, context=context, target_url=target_url)]
    stages: dict[str, list[StepRecord]] = {}
    for step in build.steps:
        stages.setdefault(stage_of(step.kind), []).append(step)
    for stage, steps in stages.items():
        state, text = _stage_state(build, steps)
        statuses.append(
            CommitStatus(state, describe(f"{stage}: {text}"), target_url, f"{context}/{stage}")
        )
    return statuses


def _stage_state(build: Build, steps: list[StepRecord]) -> tuple[str, str]:
    states = {step.state for step in steps}
    names = ", ".join(step.name for step in steps)
    failed = next((s for s in steps if s.state is StepState.FAILURE), None)
    if failed is not None:
        return "failure", f"step '{failed.name}' failed"
    if StepState.ERROR in states:
        return "error", "errored" + (f": {build.reason}" if build.reason else "")
    if StepState.CANCELLED in states:
        return "error", "cancelled"
    if states == {StepState.SUCCESS}:
        duration = sum(s.duration or 0.0 for s in steps)
        return "success", f"{names} passed in {_human_seconds(duration)}"
    if not build.state.terminal:  # one text while it runs: a status per step would be noise
        started = states - {StepState.PENDING}
        return "pending", "running" if started else "waiting"
    if build.state is BuildState.CANCELLED:
        return "error", "cancelled before it ran"
    return "error", f"not run: the build {build.state.value} before it"


def _human_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"
