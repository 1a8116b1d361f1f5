"""Runs one build: checkout, compile `build-info.yaml`, run each step, record what happened.

The runner knows nothing of Redis, arq, GitHub or Docker: it reports through `BuildEvents`, which
the worker (the composition root) wires to the store and the status reporter, and runs steps on an
`Engine` (tingle.executor.base). `tingle.engine.factory` makes one for the worker and `tingle exec`.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import structlog

from tingle.build import Build, BuildState, StepRecord
from tingle.engine.checkout import CheckoutError, checkout
from tingle.engine.cleanups import Cleanups
from tingle.engine.delivery import DeliverySteps
from tingle.engine.log_writer import LogSink
from tingle.engine.step_runner import StepFailed, StepRunner, describe_failure
from tingle.errors import InfrastructureError
from tingle.executor.base import Engine, StepResult
from tingle.pipeline import PipelineError, TemplateSet, compile_plan
from tingle.plan import BuildFacts, EventKind, Plan, RunStep, Step
from tingle.secrets import SecretStore
from tingle.workspace_files import UnsafeFile, read_workspace_file

log = structlog.get_logger(__name__)

BUILD_INFO = "build-info.yaml"


Fetch = Callable[[Path], Awaitable[None]]


def git_fetch(clone_url: str, sha: str, token: str = "") -> Fetch:
    """A Fetch that checks out `sha` from `clone_url`."""

    async def fetch(workspace: Path) -> None:
        try:
            await checkout(clone_url, sha, workspace, token=token)
        except CheckoutError as exc:
            raise CheckoutError(f"checkout failed: {exc}") from exc

    return fetch


class BuildEvents(LogSink, Protocol):
    async def changed(self, build: Build) -> None:
        """The build record changed (state, a step): store it, tell GitHub if it matters."""


@dataclass(frozen=True)
class RunnerConfig:
    workspace_root: Path
    templates: TemplateSet
    agent_image_prefix: str = "tingle/agent-"
    keep_workspace: bool = False
    secrets_dir: Path | None = None  # per-build folders of secret files, mounted into steps
    build_timeout_seconds: int | None = None
    step_log_limit: int | None = None
    build_log_limit: int | None = None  # bytes of log all steps of the build store together
    # The operator's deploy branches of a repository (Settings.deploy_branches_for).
    deploy_branches: Callable[[str], tuple[str, ...]] = lambda repo: ()


class BuildRunner:
    def __init__(
        self,
        config: RunnerConfig,
        engine: Engine,
        events: BuildEvents,
        build_url: str,
        *,
        delivery: DeliverySteps | None = None,
        secrets: SecretStore | None = None,
        cleanups: Cleanups | None = None,
    ) -> None:
        self._config = config
        self._executor = engine.executor()  # one runner, one build
        self._cleanups = cleanups  # None: clean up before returning (`tingle exec`)
        self._events = events
        self._build_url = build_url
        self._steps = StepRunner(
            self._executor,
            events,
            delivery=delivery,
            secrets=secrets,
            secrets_dir=config.secrets_dir,
            log_limit=config.step_log_limit,
            build_log_limit=config.build_log_limit,
        )

    async def run(self, build: Build, fetch: Fetch) -> Build:
        """Run `build`; `fetch(workspace)` puts the commit into the (empty) workspace."""
        workspace = self._config.workspace_root / build.id
        build.run()
        await self._events.changed(build)
        limit = self._config.build_timeout_seconds
        settled = False  # every step ran to its end: no container of the build still runs
        try:
            async with asyncio.timeout(limit):
                await self._run(build, fetch, workspace)
            settled = True
        except TimeoutError:
            build.finish(BuildState.FAILURE, f"build timed out after {limit}s")
        except InfrastructureError as exc:
            build.finish(BuildState.ERROR, str(exc))
        except asyncio.CancelledError:  # the caller decides what a cancel means (build_job.py)
            # A build handed back may run again at once, elsewhere: its containers go now.
            await _shielded(self._cleanup(build, workspace, containers_now=True))
            raise
        except Exception as exc:  # a bug in Tingle is the infrastructure failing, not the code
            log.exception("build crashed")
            build.finish(BuildState.ERROR, f"internal error: {type(exc).__name__}")
        if build.reason:  # it may quote a step's output or error
            build.reason = self._steps.masker.mask_text(build.reason)
        # A container that may still run (the build timed out, the engine failed) is stopped before
        # the end is recorded: stopping is what ends the build. Removing stopped ones can wait.
        await self._cleanup(build, workspace, containers_now=not settled)
        await self._events.changed(build)
        return build

    async def _run(self, build: Build, fetch: Fetch, workspace: Path) -> None:
        await fetch(workspace)
        plan = self._plan(build, workspace)
        if plan is None:
            return
        build.steps = [
            StepRecord(name=step.name, image=getattr(step, "image", ""), kind=step.kind)
            for step in plan.steps
        ]
        await self._events.changed(build)
        await self._executor.setup(build.id, workspace)
        for index, step in enumerate(plan.steps):
            result = await self._run_step(build, index, step, workspace)
            if not result.ok:
                failed = describe_failure(result, step)
                build.finish(BuildState.FAILURE, f"step '{step.name}' {failed}")
                return
        build.finish(BuildState.SUCCESS, None)

    def _plan(self, build: Build, workspace: Path) -> Plan | None:
        """The compiled plan, or None when the build ended here (skipped, or a broken file)."""
        try:  # never through a symbolic link: it could point at any file of the host
            data = read_workspace_file(workspace, BUILD_INFO)
        except UnsafeFile as exc:
            build.finish(BuildState.FAILURE, str(exc))
            return None
        if data is None:
            build.finish(BuildState.SKIPPED, f"no {BUILD_INFO} in this commit")
            return None
        text = data.decode("utf-8", errors="replace")
        try:
            return compile_plan(
                text,
                replace(
                    build_facts(build, self._build_url),
                    deploy_branches=self._config.deploy_branches(build.repo),
                ),
                self._config.templates,
                agent_image_prefix=self._config.agent_image_prefix,
            )
        except PipelineError as exc:
            build.problems = [str(problem) for problem in exc.problems]
            first = build.problems[0] if build.problems else str(exc)
            build.finish(BuildState.FAILURE, first)
            return None

    async def _run_step(self, build: Build, index: int, step: Step, workspace: Path) -> StepResult:
        record = build.steps[index]
        record.begin()
        await self._events.changed(build)
        env = step_environment(build, self._build_url, step)
        try:
            result = await self._steps.run(build, index, step, workspace, env)
        except StepFailed as exc:
            result = StepResult(exit_code=1, message=str(exc))
        except InfrastructureError as exc:
            record.fail(self._steps.masker.mask_text(str(exc)))
            raise
        finally:
            record.log_truncated = self._steps.log_truncated
        record.end(result.exit_code, result.ok)
        await self._events.changed(build)
        return result

    async def _cleanup(self, build: Build, workspace: Path, *, containers_now: bool) -> None:
        """Remove the build's secret files now; its containers (now, when `containers_now`) and its
        workspace in the background when the runner has `cleanups`, else before returning."""
        if containers_now or self._cleanups is None:
            await _logged(self._executor.teardown())
        else:
            self._cleanups.defer(f"containers of build {build.id}", self._executor.teardown())
        await _logged(self._steps.teardown(build))
        if self._config.keep_workspace:
            return
        if self._cleanups is None:
            await asyncio.to_thread(shutil.rmtree, workspace, True)
        else:
            self._cleanups.discard_workspace(workspace)


def build_facts(build: Build, build_url: str) -> BuildFacts:
    event = EventKind(build.event)
    # As `tingle plan --event pull_request` does: a pull request's base, or (a record stored
    # before the base was kept) the default branch.
    base = (build.base_branch or build.default_branch) if event is EventKind.PULL_REQUEST else None
    return BuildFacts(
        repo=build.repo,
        sha=build.sha,
        event=event,
        branch=build.branch,
        base_branch=base,
        default_branch=build.default_branch,
        pr_number=build.pr_number,
        is_fork=build.is_fork,
        build_id=build.id,
        build_url=build_url,
    )


def step_environment(build: Build, build_url: str, step: Step) -> dict[str, str]:
    """What every step sees: its own variables and Tingle's (which a step cannot override)."""
    tingle = {
        "CI": "true",
        "TINGLE": "true",
        "TINGLE_BUILD_ID": build.id,
        "TINGLE_BUILD_URL": build_url,
        "TINGLE_REPO": build.repo,
        "TINGLE_COMMIT_SHA": build.sha,
        "TINGLE_BRANCH": build.branch or "",
        "TINGLE_EVENT": build.event,
        "TINGLE_PR_NUMBER": "" if build.pr_number is None else str(build.pr_number),
        "TINGLE_STEP": step.name,
    }
    own = dict(step.env) if isinstance(step, RunStep) else {}
    return {**own, **tingle}


async def _shielded(work: Coroutine[Any, Any, None]) -> None:
    """Finish `work` even though the build was cancelled; its own failure is logged, not raised."""
    try:
        await asyncio.shield(work)
    except Exception:
        log.exception("cleanup after cancel failed")


async def _logged(work: Awaitable[None]) -> None:
    try:
        await work
    except Exception:  # the build's outcome stands; the janitor removes what is left
        log.exception("cleanup failed")
