"""The record of one build, as stored in Redis and shown on the build page, and its lifecycle.

Unlike a Plan (what should run), a Build is what happened: it changes as the build runs and is
written by exactly one worker at a time. Its state changes only through the methods below
(`hold`, `approve`, `start`, `run`, `finish`, `cancel`, `hand_back`, `restarted`; a step's
`begin`, `end`, `fail`), whoever calls them: the runner, the build job, the janitor, or a person
through the web app.

    held ──approve──► queued ──start, run──► running ──finish──► success | failure | error | skipped
      └──────cancel──────┴─────────────cancel──────┘ └─hand_back─► queued (a worker stopped)
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any


class BuildState(StrEnum):
    HELD = "held"  # a fork's pull request, waiting for a maintainer's approval (TINGLE_HOLD_FORKS)
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILURE = "failure"  # the code's fault: a step failed, or build-info.yaml is broken
    ERROR = "error"  # the infrastructure's fault: checkout, a missing image, Docker down
    SKIPPED = "skipped"  # nothing to build (no build-info.yaml)
    CANCELLED = "cancelled"  # by a person, or superseded by a newer commit

    @property
    def terminal(self) -> bool:
        return self not in (BuildState.HELD, BuildState.QUEUED, BuildState.RUNNING)


class StepState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


@dataclass
class StepRecord:
    name: str
    image: str = ""
    kind: str = "run"  # run | build_image | push_image | deploy (see tingle.plan)
    state: StepState = StepState.PENDING
    exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    log_truncated: bool = False  # the step printed more than the log cap; the rest was dropped

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    def begin(self) -> None:
        self.state, self.started_at = StepState.RUNNING, time.time()

    def end(self, exit_code: int, ok: bool) -> None:
        """The step ran to its end: `ok` (exit 0, in time, in memory) or not."""
        self.exit_code, self.finished_at = exit_code, time.time()
        self.state = StepState.SUCCESS if ok else StepState.FAILURE

    def fail(self, error: str) -> None:
        """The infrastructure failed the step (`error`, already masked)."""
        self.state, self.finished_at, self.error = StepState.ERROR, time.time(), error


@dataclass
class Build:
    id: str
    repo: str
    sha: str
    ref: str
    event: str
    clone_url: str
    branch: str | None = None
    pr_number: int | None = None
    head_repo: str | None = None
    is_fork: bool = False
    default_branch: str | None = None
    installation_id: int | None = None
    delivery_id: str | None = None
    author: str | None = None
    commit_message: str = ""
    commit_url: str | None = None
    pr_url: str | None = None
    state: BuildState = BuildState.QUEUED
    superseded_by: str | None = None
    image: str | None = None  # the pushed image, pinned by digest: repository@sha256:...
    reason: str | None = None  # why it ended as it did, one line, shown on statuses
    problems: list[str] = field(default_factory=list)  # every build-info.yaml problem
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    worker: str | None = None
    attempts: int = 0  # runs started; more than one when a worker died or handed the build back
    version: int = 0  # bumped by every save: feedback never goes back to an older version's
    steps: list[StepRecord] = field(default_factory=list)
    # A pull request's base branch (`branch` is its head branch); None for pushes and for records
    # stored before it was kept.
    base_branch: str | None = None
    # The steps' logs were moved to the blob store (tingle.archive) and are read from there.
    logs_archived: bool = False
    # A pull request's title as the payload had it at admission (cleaned, at most
    # PR_TITLE_LIMIT characters: tingle.forge.events); None for pushes and older records.
    pr_title: str | None = None
    # Every tag the push step pushed (`image` is the first, pinned by its digest).
    image_tags: list[str] = field(default_factory=list)
    # Who cancelled it, when a person did ("an admin (build page)"); None for a supersede, a
    # closed lane, or older records: `reason` says why.
    cancelled_by: str | None = None
    restarted_from: str | None = None  # the build this one restarts

    def to_dict(self) -> dict[str, Any]:
        # Field by field, not `asdict`: every save and every webhook makes one, and asdict's deep
        # copy of each value costs more than the rest of the record's JSON.
        record = {f.name: getattr(self, f.name) for f in fields(self)}
        record["problems"] = list(self.problems)
        record["image_tags"] = list(self.image_tags)
        record["steps"] = [{f.name: getattr(s, f.name) for f in fields(s)} for s in self.steps]
        return record

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Build:
        fields = dict(data)
        fields["state"] = BuildState(fields["state"])
        fields["steps"] = [
            StepRecord(**{**step, "state": StepState(step["state"])})
            for step in fields.get("steps", [])
        ]
        return cls(**fields)

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    def step(self, name: str) -> StepRecord:
        for record in self.steps:
            if record.name == name:
                return record
        raise KeyError(name)

    # --- lifecycle -------------------------------------------------------------------------

    def hold(self) -> None:
        """Wait for a person's approval before any worker takes it (a fork's pull request)."""
        self.state = BuildState.HELD

    def start(self, worker: str) -> None:
        """`worker` takes the build: one more attempt."""
        self.worker, self.attempts = worker, self.attempts + 1

    def run(self) -> None:
        """The build starts running (again, after a hand-back)."""
        self.state, self.started_at, self.reason = BuildState.RUNNING, time.time(), None

    def finish(self, state: BuildState, reason: str | None) -> None:
        """End in `state`: a step still running ends as the build does, pending ones skip."""
        self.state, self.reason, self.finished_at = state, reason, time.time()
        running_becomes = StepState.CANCELLED if state is BuildState.CANCELLED else StepState.ERROR
        for record in self.steps:
            if record.state is StepState.RUNNING:
                record.state, record.finished_at = running_becomes, self.finished_at
            elif record.state is StepState.PENDING:
                record.state = StepState.SKIPPED

    def cancel(self, reason: str, superseded_by: str | None = None, by: str | None = None) -> None:
        """End cancelled (by a person, `by`; a closed lane; or a newer commit: `superseded_by`)."""
        self.finish(BuildState.CANCELLED, reason)
        self.superseded_by, self.cancelled_by = superseded_by, by

    def hand_back(self, reason: str | None) -> None:
        """Back to the queue, to run again from the start on any worker (its worker stopped)."""
        self.state, self.reason, self.steps, self.worker = BuildState.QUEUED, reason, [], None

    def approve(self, who: str) -> bool:
        """Let a held build (a fork's pull request) run. False when it is not held."""
        if self.state is not BuildState.HELD:
            return False
        self.state, self.reason = BuildState.QUEUED, f"approved by {who}"
        return True

    def restarted(self) -> Build:
        """A new build of the same commit (its id given on admission), with nothing of this one's
        run: no attempts, steps, image or delivery; it says which build it restarts."""
        return dataclasses.replace(
            self,
            id="",
            state=BuildState.QUEUED,
            reason=None,
            problems=[],
            created_at=time.time(),
            started_at=None,
            finished_at=None,
            worker=None,
            attempts=0,
            image=None,
            image_tags=[],
            cancelled_by=None,
            restarted_from=self.id,
            steps=[],
            delivery_id=None,
            superseded_by=None,
            logs_archived=False,
        )
