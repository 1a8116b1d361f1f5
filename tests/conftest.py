"""Shared fixtures: a private Redis, the Docker engine, Tingle's settings, its web app on real HTTP,
and burst workers. GitHub is the one thing faked (testing/fakes/github)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from testing.gitrepo import GitRepo
from testing.servers import RedisServer, serve_app
from tingle.settings import Settings

if TYPE_CHECKING:
    from tingle.worker.build_job import WorkerContext

pytest_plugins = ["tests.fakes.fixtures"]
collect_ignore = ["samples"]  # sample repositories with test suites of their own, run by builds

WEBHOOK_SECRET = "test-webhook-secret"
TEST_IMAGE = "tingle/busybox:latest"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    redis_server.flush()
    return redis_server.url


@pytest.fixture(scope="session")
def docker_client() -> Any:
    from tingle.executor.docker import connect

    client = connect()  # raises with a clear message when no engine runs: see scripts/setup.sh
    client.images.get(TEST_IMAGE)  # made by scripts/base-images.sh
    return client


@pytest.fixture(scope="session", autouse=True)
def confined_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The tests' folders on one mount `nosuid,nodev`, as a worker mounts its workspace root
    (tingle.executor.workspace_mount): the workspaces under them are confined already, so no test
    leaves a mount of its own behind. Unmounted at the end."""
    import os
    import subprocess

    base = tmp_path_factory.getbasetemp()
    mounted = os.geteuid() == 0 and all(
        subprocess.run(command, check=False, capture_output=True).returncode == 0
        for command in (
            ["mount", "--bind", str(base), str(base)],
            ["mount", "-o", "remount,bind,nosuid,nodev", str(base)],
        )
    )
    yield
    if mounted:
        subprocess.run(["umount", "-l", str(base)], check=False, capture_output=True)


@pytest.fixture
def repos_root(tmp_path: Path) -> Path:
    return tmp_path / "repos"


@pytest.fixture
def make_repo(repos_root: Path, fake_github: Any) -> Any:
    """make_repo("owner/name") → a GitRepo that https://github.com/owner/name.git resolves to,
    whose branches the fake GitHub serves (`GET .../git/ref/heads/{branch}`)."""

    def make(full_name: str) -> GitRepo:
        repo = GitRepo(repos_root / f"{full_name}.git")
        fake_github.add_git_repository(full_name, repo.path)
        return repo

    return make


@pytest.fixture
def settings(redis_url: str, tmp_path: Path, repos_root: Path, fake_github: Any) -> Settings:
    return Settings(
        redis_url=redis_url,
        webhook_secret=WEBHOOK_SECRET,
        public_url="http://tingle.test",
        github_api_url=fake_github.base_url,
        github_token="test-token",
        github_writes_per_second=0.0,
        clone_url_rewrites=(("https://github.com/", f"{repos_root.as_uri()}/"),),
        workspace_root=tmp_path / "workspaces",
        secrets_url=str(tmp_path / "secrets"),
        secrets_work_dir=tmp_path / "build-secrets",
        archive_url=str(tmp_path / "archive"),
        archive_delay_seconds=0.0,
    )


@pytest.fixture
def web(settings: Settings) -> Iterator[str]:
    from tingle.web.app import create_app

    with serve_app(create_app(settings)) as url:
        yield url


@pytest.fixture
def run_worker(settings: Settings) -> Any:
    """run_worker() drains the queue with an in-process burst worker (`tingle worker --burst`)."""
    from tingle.worker.arq_worker import run_worker as run

    def drain(**overrides: Any) -> None:
        asyncio.run(run(dataclasses.replace(settings, **overrides), burst=True))

    return drain


@pytest.fixture
async def worker_context(settings: Settings, docker_client: Any) -> AsyncIterator[WorkerContext]:
    """What a worker's start-up makes, with the tests' Redis, Docker engine and GitHub fake."""
    from tingle.engine.factory import engine_options
    from tingle.executor.docker import DockerEngine
    from tingle.queue import connect
    from tingle.worker.arq_worker import worker_context as make_context

    pool = connect(settings.redis_url)
    name = "test-worker:1"
    engine = DockerEngine(docker_client, engine_options(settings, worker=name))
    context = make_context(settings, pool, name, engine)
    yield context
    await context.cleanups.drain(30)
    await context.feedback.publisher.drain()
    await pool.aclose()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the Docker engine (the `docker_client` fixture, directly or through
    another fixture) is marked `docker`: `pytest -m "not docker"` runs the rest on a machine
    without an engine. CI runs both."""
    for item in items:
        if "docker_client" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.docker)
