"""The delivery steps: build the image, push it (recording its digest), deploy the workflows.

Each returns a StepResult like a container step: a failure of the repository's own making (a
broken Dockerfile, an invalid schedule) is a failed step with its message; one of the
infrastructure (the engine, the registry, the scheduler down) raises InfrastructureError.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tingle.build import Build
from tingle.deploy import (
    GoogleIdToken,
    Release,
    StaticToken,
    StyxClient,
    TokenSource,
    deploy,
    load_data_info,
)
from tingle.engine.deploy_guard import BranchHeads, ensure_still_head
from tingle.engine.image_tags import build_tags, check_namespaces, image_repository
from tingle.errors import DeliveryError, InfrastructureError
from tingle.executor.base import Engine, LineWriter, StepResult
from tingle.executor.images import ImageBuild, add_branch_tag, image_labels
from tingle.plan import BuildImageStep, DeployStep, PushImageStep
from tingle.secrets import StepSecrets

Say = LineWriter
DeliveryStep = BuildImageStep | PushImageStep | DeployStep


@dataclass(frozen=True)
class StepContext:
    """What a delivery step works with."""

    build: Build
    workspace: Path
    build_url: str
    say: Say  # writes one line to the step's log (masked)
    secrets: StepSecrets


@dataclass(frozen=True)
class DeliveryConfig:
    styx_api_url: str = ""
    styx_token: str = ""  # a static bearer token; without one, a Google ID token is used
    styx_timeout: float = 30.0
    # The operator's registry: builds write only <registry>/<owner>/<repo> (image_tags.py).
    registry: str = "localhost:5000"
    agent_image_prefix: str = "tingle/agent-"


class DeliverySteps:
    def __init__(
        self, engine: Engine, config: DeliveryConfig, heads: BranchHeads | None = None
    ) -> None:
        self._engine = engine
        self._config = config
        self._heads = heads  # None: no GitHub to ask, so no deploy (deploy_guard.py)
        check_namespaces(config.registry, config.agent_image_prefix)  # or refuse to start

    async def run(self, step: DeliveryStep, at: StepContext) -> StepResult:
        say = at.say
        try:
            if isinstance(step, BuildImageStep):
                await self._build(step, at)
            elif isinstance(step, PushImageStep):
                await self._push(step, at.build, say)
            else:
                await self._deploy(step, at)
        except DeliveryError as exc:
            if exc.infrastructure:
                raise InfrastructureError(f"step '{step.name}': {exc}") from exc
            for line in str(exc).splitlines():
                await say(line)
            return StepResult(exit_code=1, message=str(exc).splitlines()[0])
        return StepResult(exit_code=0)

    def _tags(self, tags: tuple[str, ...], build: Build) -> tuple[str, ...]:
        config = self._config
        return build_tags(
            tags, build, registry=config.registry, agent_image_prefix=config.agent_image_prefix
        )

    async def _build(self, step: BuildImageStep, at: StepContext) -> None:
        build, say = at.build, at.say
        tags = self._tags(step.tags, build)
        # The default branch's tag is the newest image of this repository: its layers are the
        # best cache for any branch.
        own = (image_repository(self._config.registry, build.repo),)
        cache = add_branch_tag(own, build.default_branch)[-1:] if build.default_branch else ()
        await say(f"building {', '.join(tags)}")
        image = ImageBuild(
            at.workspace, tags, dockerfile=step.dockerfile, context=step.context,
            build_args=dict(step.build_args),
            labels=image_labels(revision=build.sha, source=build.clone_url, build_url=at.build_url),
            cache_from=cache,
            credentials=not build.is_fork,  # untrusted code never gets the registry's
        )  # fmt: skip
        await self._engine.build_image(image, say)

    async def _push(self, step: PushImageStep, build: Build, say: Say) -> None:
        if build.is_fork:  # whatever the plan says: the runtime is the last gate
            raise DeliveryError("a pull request from a fork never pushes images")
        pushed = []
        tags = self._tags(step.tags, build)
        for tag in tags:
            await say(f"pushing {tag}")
            pushed.append(await self._engine.push_image(tag, say))
        build.image, build.image_tags = pushed[0].pinned, list(tags)
        await say(f"pushed {build.image}")

    async def _deploy(self, step: DeployStep, at: StepContext) -> None:
        build, say = at.build, at.say
        if not build.image:
            raise DeliveryError("nothing to deploy: no image was pushed earlier in this build")
        if step.scheduler != "styx":
            raise DeliveryError(f"scheduler '{step.scheduler}' is not supported (supported: styx)")
        if not self._config.styx_api_url:
            raise DeliveryError(
                "no scheduler configured (TINGLE_STYX_API_URL)", infrastructure=True
            )
        info = load_data_info(at.workspace, step.workflows_file)
        branch = await ensure_still_head(self._heads, build)  # just before deploying
        await say(f"{branch} is still at {build.sha}: deploying")
        async with StyxClient(
            self._config.styx_api_url, self._tokens(at.secrets), timeout=self._config.styx_timeout
        ) as styx:
            summary = await deploy(styx, info, Release(build.image, build.sha, build.repo), log=say)
        await say(summary.describe())

    def _tokens(self, secrets: StepSecrets) -> TokenSource:
        if self._config.styx_token:
            return StaticToken(self._config.styx_token)
        return GoogleIdToken(self._config.styx_api_url, _service_account(secrets))


def _service_account(secrets: StepSecrets) -> dict[str, Any] | None:
    """The step's service-account key, if one of its secrets is one; else the worker's own
    default credentials are used."""
    for value in secrets.values:
        try:
            data = json.loads(value)
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(data, dict) and data.get("type") == "service_account":
            return data
    return None
