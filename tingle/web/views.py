"""What pages and the JSON API both need: finding the build asked for, and plain views of it.

The JSON views hold what a Backstage CI/CD tab shows (id, state, branch, commit message, author,
times, links); they are made field by field so nothing new on a record leaks out by accident.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request

from tingle.build import Build, StepRecord
from tingle.web import times
from tingle.web.state import AppState

RUNNING_STATES = ("queued", "running", "pending")


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.tingle
    return state


async def find_build(request: Request) -> Build | None:
    return await app_state(request).store.get(request.path_params["build_id"])


def step_at(build: Build, index: int) -> StepRecord | None:
    return build.steps[index] if 0 <= index < len(build.steps) else None


def log_truncated(step: StepRecord) -> bool:
    return bool(getattr(step, "log_truncated", False))


def step_finished(build: Build, index: int) -> bool:
    step = step_at(build, index)
    return build.state.terminal or step is None or str(step.state) not in RUNNING_STATES


def elapsed(started_at: float | None, finished_at: float | None) -> float | None:
    """How long it took, or has taken so far."""
    if started_at is None:
        return None
    return (time.time() if finished_at is None else finished_at) - started_at


def safe_url(url: str | None) -> str | None:
    """Only http(s) links from payloads become hrefs (never `javascript:` and the like)."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


def repo_path(repo: str) -> str:
    return f"/repos/{repo}"


def trigger(build: Build) -> str:
    if build.pr_number is not None:
        origin = f" from {build.head_repo}" if build.is_fork and build.head_repo else ""
        return f"pull request #{build.pr_number}{origin}"
    if build.ref.startswith("refs/tags/"):
        return f"tag {build.ref.removeprefix('refs/tags/')}"
    return f"push to {build.branch or build.ref}"


def first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0]


def build_summary(build: Build, public_url: str) -> dict[str, Any]:
    return {
        "id": build.id,
        "url": f"{public_url}/builds/{build.id}",
        "repo": build.repo,
        "state": str(build.state),
        "reason": build.reason,
        "event": build.event,
        "trigger": trigger(build),
        "ref": build.ref,
        "branch": build.branch,
        "base_branch": build.base_branch,  # a pull request's target; `branch` is its head
        "pr_number": build.pr_number,
        "pr_title": build.pr_title,
        "sha": build.sha,
        "commit_message": first_line(build.commit_message),
        "author": build.author,
        "commit_url": safe_url(build.commit_url),
        "pr_url": safe_url(build.pr_url),
        "created_at": build.created_at,
        "started_at": build.started_at,
        "finished_at": build.finished_at,
        "created": times.iso(build.created_at),  # the same three times, as ISO 8601 in UTC
        "started": times.iso(build.started_at),
        "finished": times.iso(build.finished_at),
        "duration": build.duration,
    }


def image_view(build: Build) -> dict[str, Any] | None:
    """What the build pushed: every tag, and the digest they all name (None: nothing pushed)."""
    if not build.image:
        return None
    repository, _, digest = build.image.partition("@")
    tags = list(build.image_tags)
    return {"pinned": build.image, "repository": repository, "digest": digest or None, "tags": tags}


def step_view(build: Build, index: int, step: StepRecord) -> dict[str, Any]:
    log = f"/api/builds/{build.id}/steps/{index}/log"
    return {
        "index": index,
        "name": step.name,
        "image": step.image,
        "state": str(step.state),
        "exit_code": step.exit_code,
        "error": step.error,
        "started_at": step.started_at,
        "finished_at": step.finished_at,
        "duration": step.duration,
        "log_truncated": log_truncated(step),
        "log_url": log,
        "log_events_url": f"/api/builds/{build.id}/steps/{index}/events",
    }


def build_view(build: Build, public_url: str) -> dict[str, Any]:
    """The whole build: the summary, its problems and its steps."""
    view = build_summary(build, public_url)
    view["head_repo"] = build.head_repo
    view["is_fork"] = build.is_fork
    view["superseded_by"] = getattr(build, "superseded_by", None)
    view["cancelled_by"] = build.cancelled_by
    view["restarted_from"] = build.restarted_from
    view["image"] = image_view(build)
    view["problems"] = list(build.problems)
    view["steps"] = [step_view(build, i, step) for i, step in enumerate(build.steps)]
    return view
