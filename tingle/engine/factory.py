"""The one place that turns settings into a runtime: the engine options a worker (or `tingle exec`)
runs containers with, and the BuildRunner for one build. The worker and `tingle exec` both call it,
so the two can never run a build differently by accident."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tingle.engine.cleanups import Cleanups
from tingle.engine.delivery import DeliveryConfig, DeliverySteps
from tingle.engine.deploy_guard import GitHubBranchHeads
from tingle.engine.image_tags import check_namespaces
from tingle.engine.runner import BuildEvents, BuildRunner, RunnerConfig
from tingle.executor.base import Engine, EngineOptions
from tingle.executor.images import RegistryAuth
from tingle.forge.auth import GitHubClients
from tingle.pipeline import TemplateSet
from tingle.secrets import SecretStore
from tingle.settings import Settings


def engine_options(settings: Settings, *, worker: str | None, **overrides: Any) -> EngineOptions:
    """How `worker`'s step containers run (None: `tingle exec`, whose containers belong to no
    worker and no Tingle instance, and have no limits but the default process cap). Called as a
    worker starts: a configuration where builds could write agent images stops it (ValueError)."""
    check_namespaces(settings.registry, settings.agent_image_prefix)
    auth = (
        RegistryAuth(settings.registry_username, settings.registry_password)
        if settings.registry_username
        else None
    )
    options = EngineOptions(network=settings.docker_network, registry_auth=auth)
    if worker is not None:
        options = replace(
            options,
            memory=settings.step_memory,
            cpus=settings.step_cpus,
            pids=settings.step_pids,
            worker=worker,
            instance=settings.instance,
        )
    return replace(options, **overrides)


def delivery_config(settings: Settings) -> DeliveryConfig:
    return DeliveryConfig(
        styx_api_url=settings.styx_api_url,
        styx_token=settings.styx_token,
        styx_timeout=settings.styx_timeout,
        registry=settings.registry,
        agent_image_prefix=settings.agent_image_prefix,
    )


def runner_config(settings: Settings, templates: TemplateSet, **overrides: Any) -> RunnerConfig:
    config = RunnerConfig(
        workspace_root=settings.workspace_root,
        templates=templates,
        agent_image_prefix=settings.agent_image_prefix,
        build_timeout_seconds=settings.build_timeout_seconds,
        step_log_limit=settings.step_log_limit,
        build_log_limit=settings.build_log_limit,
        secrets_dir=settings.secrets_work_dir,
        deploy_branches=settings.deploy_branches_for,
    )
    return replace(config, **overrides)


def make_runner(
    settings: Settings,
    config: RunnerConfig,
    engine: Engine,
    events: BuildEvents,
    build_url: str,
    *,
    secrets: SecretStore | None,
    cleanups: Cleanups | None = None,
    github: GitHubClients | None = None,
) -> BuildRunner:
    """The runner of one build; `cleanups` None: it cleans up before returning (`tingle exec`).
    `github` None: nothing can tell whether a commit is still its branch's head, so no deploy."""
    heads = None if github is None else GitHubBranchHeads(github)
    return BuildRunner(
        config,
        engine,
        events,
        build_url,
        delivery=DeliverySteps(engine, delivery_config(settings), heads),
        secrets=secrets,
        cleanups=cleanups,
    )
