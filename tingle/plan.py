"""The compiled build: pure, frozen values.

A Plan is what the pipeline compiler produces from `build-info.yaml` and a template, and what the
runner executes. It imports nothing from the rest of the package, so every layer may depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class EventKind(StrEnum):
    PUSH = "push"
    PULL_REQUEST = "pull_request"


@dataclass(frozen=True)
class BuildFacts:
    """What is known about a build before its `build-info.yaml` is read."""

    repo: str  # "owner/name"
    sha: str
    event: EventKind
    branch: str | None = None  # the pushed branch, or a pull request's head branch
    base_branch: str | None = None  # a pull request's base branch
    default_branch: str | None = None
    pr_number: int | None = None
    is_fork: bool = False
    build_id: str = ""
    build_url: str = ""
    changed_paths: tuple[str, ...] | None = None  # None: unknown, so path filters match
    # Branches besides the default branch the operator lets this repository deploy from
    # (TINGLE_DEPLOY_BRANCHES): never taken from the commit being built.
    deploy_branches: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunStep:
    """Commands run with `/bin/sh` in a container of `image`, the workspace mounted."""

    name: str
    image: str
    commands: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    timeout_seconds: int | None = None
    secrets: tuple[str, ...] = ()
    kind: str = field(default="run", init=False)


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    template: str | None = None
    secrets_source: str | None = None  # where the repository's secrets live (a bucket or folder)

    def step_names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps)


# Image build, push and deploy are carried out by the worker itself, not by commands in an agent
# image, so they are steps of their own kinds rather than RunSteps with magic commands.


@dataclass(frozen=True)
class BuildImageStep:
    """Build `dockerfile` (relative to the workspace) with `context`, tagged with every `tags`."""

    name: str
    tags: tuple[str, ...]
    dockerfile: str = "Dockerfile"
    context: str = "."
    build_args: tuple[tuple[str, str], ...] = ()
    timeout_seconds: int | None = None
    secrets: tuple[str, ...] = ()
    kind: str = field(default="build_image", init=False)


@dataclass(frozen=True)
class PushImageStep:
    """Push `tags`, which an earlier BuildImageStep built."""

    name: str
    tags: tuple[str, ...]
    timeout_seconds: int | None = None
    secrets: tuple[str, ...] = ()
    kind: str = field(default="push_image", init=False)


@dataclass(frozen=True)
class DeployStep:
    """Register the workflows listed in `workflows_file` with `scheduler`, pinned to the image the
    build pushed. Only compiled for pushes to a deploy branch."""

    name: str
    workflows_file: str = "data-info.yaml"
    scheduler: str = "styx"
    timeout_seconds: int | None = None
    secrets: tuple[str, ...] = ()
    kind: str = field(default="deploy", init=False)


Step = RunStep | BuildImageStep | PushImageStep | DeployStep
