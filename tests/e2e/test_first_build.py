"""A newcomer's first build, as the README's "First build in five minutes" tells it: `tingle up`
(its own Redis, its own registry, the real Docker engine, a state directory of its own), then
`tingle trigger` in a copy of examples/hello-python, and a green build whose push step put the
image in tingle up's registry."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from testing.gitrepo import GitRepo
from testing.processes import stop
from testing.servers import free_port
from tests.e2e.test_up import wait_ready
from tingle.cli.localredis import answers as redis_answers
from tingle.cli.localregistry import answers as registry_answers

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hello-python"
BANNER_LINES = 10
BUILD_SECONDS = 400


def newcomer_env(tmp_path: Path) -> dict[str, str]:
    """A shell with no TINGLE_* settings; only the build-secrets folder is made private, so
    that this Tingle's janitor cannot touch another test's (the default is shared per user)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINGLE_")}
    env["TINGLE_SECRETS_WORK_DIR"] = str(tmp_path / "build-secrets")
    return env


def sample_copy(tmp_path: Path) -> GitRepo:
    path = tmp_path / "hello-python"
    shutil.copytree(SAMPLE, path, ignore=shutil.ignore_patterns("__pycache__", ".tingle"))
    repo = GitRepo(path)
    repo.commit({}, message="hello")
    return repo


@pytest.mark.timeout(BUILD_SECONDS + 120)
def test_up_then_trigger_builds_the_sample_and_pushes_its_image(
    tmp_path: Path, docker_client: Any
) -> None:
    state = tmp_path / "state"
    port, redis_port, registry_port = free_port(), free_port(), free_port()
    env = newcomer_env(tmp_path)
    with (tmp_path / "up.log").open("wb") as up_stderr:
        up = subprocess.Popen(
            [sys.executable, "-m", "tingle.cli", "up", "--port", str(port),
             "--state-dir", str(state), "--redis-port", str(redis_port),
             "--registry-port", str(registry_port)],
            env=env, stdout=subprocess.PIPE, stderr=up_stderr, text=True,
        )  # fmt: skip
    try:
        banner = read_banner(up)
        assert (
            banner["redis"] == f"redis://127.0.0.1:{redis_port}/0 (started here, data in {state})"
        )
        assert banner["registry"].startswith(f"127.0.0.1:{registry_port} (started here")
        assert banner["docker engine"].startswith(("unix://", "tcp://", "ssh://"))
        assert banner["workspaces"] == str(state / "workspaces")
        assert banner["admin token"].startswith(f"in {state / 'admin-token'}")
        base = f"http://127.0.0.1:{port}"
        wait_ready(base)
        repo = sample_copy(tmp_path)
        sha = repo.git("rev-parse", "HEAD")

        done = subprocess.run(
            [sys.executable, "-m", "tingle.cli", "trigger", str(repo.path),
             "--state-dir", str(state)],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"build queued: {base}/builds/")
        build = wait_for_end(base, done.stdout.split()[-1].rsplit("/", 1)[-1])
        steps = {step["name"]: step["state"] for step in build["steps"]}
        assert build["state"] == "success", (build, (tmp_path / "up.log").read_text()[-3000:])
        assert steps == {name: "success" for name in ("install", "test", "build", "push")}

        tags = httpx.get(f"http://127.0.0.1:{registry_port}/v2/local/hello-python/tags/list")
        assert sha[:12] in tags.json()["tags"]
        manifest = httpx.head(
            f"http://127.0.0.1:{registry_port}/v2/local/hello-python/manifests/{sha[:12]}",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        )
        digest = manifest.headers["Docker-Content-Digest"]
        push_log = httpx.get(f"{base}/api/builds/{build['id']}/steps/3/log").text
        assert push_log.endswith(f"pushed 127.0.0.1:{registry_port}/local/hello-python@{digest}")
    finally:
        code = stop(up, timeout=60)
        if up.stdout is not None:
            up.stdout.close()
        for image in docker_client.images.list(f"127.0.0.1:{registry_port}/local/hello-python"):
            docker_client.images.remove(image.id, force=True)
    up_log = (tmp_path / "up.log").read_text()
    assert code == 0, up_log[-3000:]
    assert "warning: no GitHub credentials" in up_log  # one line: feedback waits
    assert not redis_answers(f"redis://127.0.0.1:{redis_port}/0")  # both stopped with it
    assert not registry_answers(f"127.0.0.1:{registry_port}")


def read_banner(up: subprocess.Popen[str]) -> dict[str, str]:
    assert up.stdout is not None
    lines = [up.stdout.readline() for _ in range(BANNER_LINES)]
    assert lines[0] == "Tingle is up.\n", lines
    return dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition(":") for line in lines[1:])
    )


def wait_for_end(base: str, build_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + BUILD_SECONDS
    while True:
        build: dict[str, Any] = httpx.get(f"{base}/api/builds/{build_id}").json()
        if build["state"] not in ("queued", "running"):
            return build
        assert time.monotonic() < deadline, f"build did not end: {build}"
        time.sleep(0.5)
