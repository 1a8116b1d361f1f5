"""Runs one step of a build: its secrets in, its output (masked) to the log, then the container
(run steps) or the delivery work (build, push, deploy)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tingle.build import Build
from tingle.engine.delivery import DeliverySteps, StepContext
from tingle.engine.log_budget import LogBudget
from tingle.engine.log_writer import LogSink, StepLogWriter
from tingle.errors import InfrastructureError
from tingle.executor.base import Executor, OutputHandler, StepResult
from tingle.plan import RunStep, Step
from tingle.secrets import (
    Masker,
    SecretError,
    SecretNotFound,
    SecretStore,
    StepSecrets,
    prepare_step_secrets,
    remove_build_secrets,
    remove_step_secrets,
)


class StepFailed(Exception):
    """The step could not start for a reason of the repository's making (a missing secret)."""


class StepRunner:
    def __init__(
        self,
        executor: Executor,
        sink: LogSink,
        *,
        delivery: DeliverySteps | None = None,
        secrets: SecretStore | None = None,
        secrets_dir: Path | None = None,
        log_limit: int | None = None,
        build_log_limit: int | None = None,
    ) -> None:
        self._executor = executor
        self._sink = sink
        self._delivery = delivery
        self._secrets = secrets
        self._secrets_dir = secrets_dir
        self._log_limit = log_limit
        # One runner, one build: every step's log writer spends from this one budget.
        self._build_log = LogBudget(build_log_limit, "build")
        self.masker = Masker()  # every secret any step of the build was given
        self.log_truncated = False

    async def run(
        self, build: Build, index: int, step: Step, workspace: Path, env: dict[str, str]
    ) -> StepResult:
        secrets = await self._step_secrets(build, index, step)
        writer = StepLogWriter(
            self._sink, build.id, index, max_bytes=self._log_limit, build_budget=self._build_log
        )
        try:
            async with writer:
                out = self.masker.writer(writer.write)
                try:
                    result = await self._dispatch(
                        step, StepContext(build, workspace, env.get("TINGLE_BUILD_URL", ""),
                                          out.write_line, secrets),
                        env, out.write,
                    )  # fmt: skip
                    if result.timed_out or result.out_of_memory:
                        # On a line of its own, even after output without a final newline: the
                        # masker lets go of what it holds back first.
                        await out.flush()
                        notice = f"tingle: step {describe_failure(result, step)}"
                        await writer.write_line(self.masker.mask_text(notice))
                finally:
                    await out.flush()
        finally:
            self.log_truncated = writer.truncated
            await asyncio.to_thread(remove_step_secrets, secrets)
        return result

    async def _dispatch(
        self, step: Step, at: StepContext, env: dict[str, str], write: OutputHandler
    ) -> StepResult:
        if isinstance(step, RunStep):
            return await self._executor.run(
                step, {**at.secrets.env, **env}, write, at.secrets.volumes()
            )
        if self._delivery is None:
            raise InfrastructureError(f"step '{step.name}': this worker cannot run '{step.kind}'")
        return await self._delivery.run(step, at)

    async def _step_secrets(self, build: Build, index: int, step: Step) -> StepSecrets:
        if not step.secrets or build.is_fork:  # a fork's code never sees a secret
            return StepSecrets()
        if self._secrets is None or self._secrets_dir is None:
            raise InfrastructureError(f"step '{step.name}' needs secrets; none are configured")
        try:
            found = await prepare_step_secrets(
                self._secrets, build.repo, step.secrets, self._secrets_dir / build.id, str(index)
            )
        except SecretNotFound as exc:
            raise StepFailed(f"step '{step.name}': {exc}") from exc
        except SecretError as exc:
            raise InfrastructureError(f"step '{step.name}': {exc}") from exc
        for value in found.values:
            self.masker.add(value)
        return found

    async def teardown(self, build: Build) -> None:
        if self._secrets_dir is not None:
            await asyncio.to_thread(remove_build_secrets, self._secrets_dir / build.id)


def describe_failure(result: StepResult, step: Step) -> str:
    if result.timed_out:
        return f"timed out after {step.timeout_seconds}s"
    if result.out_of_memory:
        return f"ran out of memory (exit {result.exit_code})"
    if result.message:
        return f"failed: {result.message}"
    return f"failed (exit {result.exit_code})"
