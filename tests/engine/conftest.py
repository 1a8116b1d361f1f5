"""Fixtures of the runtime's tests on the fake engine (no Docker, no Redis): the fake engine, the
shipped templates, and a runner made as the worker makes one (tingle.engine.factory)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import pytest

from testing.fake_engine import FakeEngine
from tests.engine.helpers import Recorder
from tingle.engine.cleanups import Cleanups
from tingle.engine.factory import make_runner, runner_config
from tingle.engine.runner import BuildRunner
from tingle.pipeline import TemplateSet, load_templates
from tingle.settings import Settings


@pytest.fixture(scope="session")
def templates() -> TemplateSet:
    return load_templates(Settings().templates_dir)


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def recorder(engine: FakeEngine) -> Recorder:
    return Recorder(engine)


@pytest.fixture
def local_settings(tmp_path: Path) -> Settings:
    """Settings whose folders are the test's own; nothing in them is reached over a network."""
    return Settings(
        workspace_root=tmp_path / "workspaces", secrets_work_dir=tmp_path / "build-secrets"
    )


class MakeRunner(Protocol):
    def __call__(self, *, cleanups: Cleanups | None = None, **config: Any) -> BuildRunner: ...


@pytest.fixture
def runner(
    local_settings: Settings, templates: TemplateSet, engine: FakeEngine, recorder: Recorder
) -> MakeRunner:
    """runner(**config overrides, cleanups=...) → a BuildRunner on the fake engine, reporting to
    the recorder. Without `cleanups` it cleans up before returning, as in `tingle exec`."""

    def make(*, cleanups: Cleanups | None = None, **config: Any) -> BuildRunner:
        return make_runner(
            local_settings,
            runner_config(local_settings, templates, **config),
            engine,
            recorder,
            local_settings.build_url("7"),
            secrets=None,
            cleanups=cleanups,
        )

    return make
