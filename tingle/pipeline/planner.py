"""Resolved, expanded steps to plan values, with the checks that need final values, then the
choices that depend on the build: `when`, deploy branches, and no secrets for forks."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from tingle.pipeline.document import BuildInfo
from tingle.pipeline.expand import Fallback, locate
from tingle.pipeline.problems import Report, hint, join_path, suggest
from tingle.pipeline.steps import StepSpec
from tingle.pipeline.when import glob_match
from tingle.plan import (
    BuildFacts,
    BuildImageStep,
    DeployStep,
    EventKind,
    PushImageStep,
    RunStep,
    Step,
)

AGENT_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_WHITESPACE = re.compile(r"\s")


@dataclass(frozen=True)
class Context:
    info: BuildInfo
    facts: BuildFacts
    agents: frozenset[str] | None
    agent_image_prefix: str
    fallback: Fallback  # where to point for problems in fields the template wrote
    report: Report


def to_plan_step(step: StepSpec, ctx: Context) -> Step:
    """The plan value for `step`; problems go to the report (the value is then not used)."""
    secrets = _secrets(step, ctx)
    timeout = step.timeout_seconds
    if step.kind == "build_image":
        return BuildImageStep(
            step.name,
            _tags(step, ctx),
            dockerfile=_relative(step, "dockerfile", step.dockerfile or "Dockerfile", ctx),
            context=_relative(step, "context", step.context or ".", ctx),
            build_args=step.build_args or (),
            timeout_seconds=timeout,
            secrets=secrets,
        )
    if step.kind == "push_image":
        return PushImageStep(step.name, _tags(step, ctx), timeout_seconds=timeout, secrets=secrets)
    if step.kind == "deploy":
        workflows = _relative(step, "workflows_file", step.workflows_file or "data-info.yaml", ctx)
        scheduler = step.scheduler or "styx"
        return DeployStep(step.name, workflows, scheduler, timeout_seconds=timeout, secrets=secrets)
    return RunStep(
        step.name,
        _image(step, ctx),
        step.commands or (),
        env=step.env or (),
        timeout_seconds=timeout,
        secrets=secrets,
    )


def included(step: StepSpec, facts: BuildFacts, deploy_branches: tuple[str, ...] | None) -> bool:
    if step.when is not None and not step.when.matches(facts):
        return False
    return step.kind != "deploy" or deploy_allowed(facts, deploy_branches)


def deploy_allowed(facts: BuildFacts, deploy_branches: tuple[str, ...] | None) -> bool:
    """Deploys run for pushes only, to a branch the operator allows: the default branch, or one
    of `facts.deploy_branches` (TINGLE_DEPLOY_BRANCHES). The commit being built cannot widen
    that: its own `deploy.branches` (`deploy_branches` here) can only narrow it."""
    branch = facts.branch
    if facts.event is not EventKind.PUSH or branch is None:
        return False
    operator = branch == facts.default_branch or any(
        glob_match(pattern, branch) for pattern in facts.deploy_branches
    )
    if not operator:
        return False
    return deploy_branches is None or any(glob_match(p, branch) for p in deploy_branches)


def without_secrets(step: Step) -> Step:
    return replace(step, secrets=())


def _image(step: StepSpec, ctx: Context) -> str:
    if step.image is not None:
        if not step.image.strip() or _WHITESPACE.search(step.image):
            _problem(step, "image", f"invalid image '{step.image}'", ctx)
        return step.image
    agent = step.agent
    if agent is None:  # neither image nor agent: already reported as missing
        return ""
    if not AGENT_NAME.match(agent):
        _problem(step, "agent", f"invalid agent name '{agent}'", ctx)
    elif ctx.agents is not None and agent not in ctx.agents:
        _problem(
            step,
            "agent",
            f"unknown agent '{agent}'{hint(agent, ctx.agents)}",
            ctx,
        )
    return f"{ctx.agent_image_prefix}{agent}:latest"


def _tags(step: StepSpec, ctx: Context) -> tuple[str, ...]:
    if "tags" in step.marks:  # the repository's own: images are named by Tingle, not by it
        message = (
            "tags are not allowed: images are tagged <registry>/<owner>/<repo>:<short sha> (and "
            "the branch on the default branch), the registry being the operator's"
        )
        ctx.report.add(step.marks["tags"], join_path(step.path, "tags"), message)
    for i, tag in enumerate(step.tags or ()):
        if not tag or _WHITESPACE.search(tag):
            _problem(step, f"tags[{i}]", f"invalid image tag '{tag}'", ctx)
    return step.tags or ()


def _relative(step: StepSpec, key: str, value: str, ctx: Context) -> str:
    # Paths are read inside the checked-out workspace; nothing may point outside it.
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or "\\" in value:
        _problem(step, key, f"'{value}' must be a relative path inside the repository", ctx)
    return value


def _secrets(step: StepSpec, ctx: Context) -> tuple[str, ...]:
    allowed = ctx.info.secret_names
    wanted = step.secrets or ()
    if (
        "secrets" in step.marks
    ):  # written by the repository: asking for an unlisted one is a mistake
        for i, name in enumerate(wanted):
            if name not in allowed:
                message = f"secret '{name}' is not listed in secrets.names{suggest(name, allowed)}"
                ctx.report.add(
                    step.marks["secrets"], join_path(join_path(step.path, "secrets"), i), message
                )
    # A template's step gets only the secrets this repository agreed to share.
    return tuple(name for name in wanted if name in allowed)


def _problem(step: StepSpec, key: str, message: str, ctx: Context) -> None:
    mark, path, prefix = locate(step, key, ctx.fallback)
    ctx.report.add(mark, path, prefix + message)
