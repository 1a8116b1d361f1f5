"""The production path, end to end: the image built from the Dockerfile by compose.yaml, the whole
stack up (Redis with AOF, web, two workers, registry) under a project name of its own, a signed
push webhook for a local repository, and a green build seen through the JSON API; then
`down -v`, whatever happened. About 30 s with a warm layer cache, a minute cold (README)."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from testing.gitrepo import GitRepo
from testing.payloads import push_payload, send
from testing.servers import free_port
from tests.compose.stack import ROOT, Stack, ensure_docker_compose, read_env_file, write_env_file
from tingle.engine.image_tags import SHORT_SHA

pytestmark = [pytest.mark.compose, pytest.mark.usefixtures("docker_client")]

WORKERS = 2
UID = 10001  # the Dockerfile's user
IMAGE = "tingle/tingle:compose-smoke"
STEP_IMAGE = "tingle/busybox:latest"
REPO = "octo/smoke"
CA_IN_CONTEXT = ROOT / "certs" / "smoke-ca.pem"  # git-ignored; removed after the build


@pytest.fixture(scope="module")
def base() -> Iterator[Path]:
    """Host folders the stack's uid must reach (pytest's own are 0700 to it)."""
    folder = Path(tempfile.mkdtemp(prefix="tingle-compose-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(base: Path) -> Iterator[Stack]:
    compose = ensure_docker_compose()
    subprocess.run(["bash", str(ROOT / "scripts/compose-images.sh")], check=True)
    env_file = base / "smoke.env"
    write_env_file(
        env_file,
        {
            "TINGLE_IMAGE": IMAGE,
            "TINGLE_WEB_PORT": str(free_port()),
            "TINGLE_REGISTRY_PORT": str(free_port()),
            "TINGLE_WORKSPACES": str(base / "workspaces"),
            "TINGLE_BUILD_SECRETS": str(base / "build-secrets"),
            "TINGLE_SECRETS_STORE": str(base / "secret-store"),
            "TINGLE_CLONE_URL_REWRITE": "https://github.com/=file:///repos/",
            "PIP_CA_BUNDLE": f"certs/{CA_IN_CONTEXT.name}",
            "SMOKE_REPOS": str(base / "repos"),
        },
    )
    subprocess.run(["bash", str(ROOT / "scripts/compose-env.sh"), str(env_file)], check=True)
    (base / "repos").mkdir()
    stack = Stack(compose, f"tingle-smoke-{uuid.uuid4().hex[:8]}", env_file)
    try:
        started = time.monotonic()
        shutil.copyfile(_host_ca_bundle(), CA_IN_CONTEXT)
        try:
            stack.run("build", "web", timeout=600)
        finally:
            CA_IN_CONTEXT.unlink(missing_ok=True)
        built = time.monotonic()
        stack.run("up", "-d", "--no-build", "--scale", f"worker={WORKERS}")
        stack.wait_healthy({"redis": 1, "web": 1, "worker": WORKERS, "registry": 1}, timeout=120)
        print(f"image build {built - started:.0f}s, stack healthy {time.monotonic() - built:.0f}s")
        yield stack
    finally:
        stack.down()
    assert stack.containers() == [], "down -v left containers behind"
    assert stack.volumes() == [], "down -v left volumes behind"


def _host_ca_bundle() -> str:
    """The bundle this machine's pip trusts: its index may sit behind a TLS-inspecting proxy."""
    return (
        os.environ.get("PIP_CERT")
        or ssl.get_default_verify_paths().cafile
        or "/etc/ssl/certs/ca-certificates.crt"
    )


def test_a_signed_push_builds_green_and_pushes_through_the_stack(stack: Stack, base: Path) -> None:
    repo = GitRepo(base / "repos" / f"{REPO}.git")
    sha = repo.commit(
        {
            "build-info.yaml": "version: 2\ntemplate:\n  type: docker\nsteps:\n"
            f"  - name: hello\n    image: {STEP_IMAGE}\n"
            "    commands: [echo hello from compose, id -u]\n",
            "Dockerfile": f"FROM {STEP_IMAGE}\nRUN echo built > /built\n",
        }
    )
    subprocess.run(["chown", "-R", f"{UID}:{UID}", str(repo.path)], check=True)  # the worker's
    env = read_env_file(stack.env_file)
    web = f"http://127.0.0.1:{env['TINGLE_WEB_PORT']}"
    answer = send(web, "push", push_payload(REPO, sha), secret=env["TINGLE_WEBHOOK_SECRET"])
    assert answer.status_code == 202, answer.text
    build = _wait_finished(web, answer.json()["build_id"], timeout=90, stack=stack)
    assert build["state"] == "success", f"{build}\n{stack.logs()}"
    hello = next(i for i, s in enumerate(build["steps"]) if s["name"] == "hello")
    log = httpx.get(f"{web}/api/builds/{build['id']}/steps/{hello}/log").text
    assert "hello from compose" in log
    tags = httpx.get(f"http://127.0.0.1:{env['TINGLE_REGISTRY_PORT']}/v2/{REPO}/tags/list")
    # Pushed by the host's engine to the registry's published port, as TINGLE_REGISTRY says.
    assert sorted(tags.json()["tags"]) == sorted([sha[:SHORT_SHA], "main"]), tags.text


def test_the_stack_runs_as_documented(stack: Stack) -> None:
    services = stack.services()
    assert {name: len(found) for name, found in services.items()} == {
        "redis": 1, "web": 1, "worker": WORKERS, "registry": 1,
    }  # fmt: skip
    for container in services["web"] + services["worker"]:
        assert container["Config"]["User"] == "tingle"
        assert container["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    uid = stack.run("exec", "-T", "web", "id", "-u").strip()
    assert uid == str(UID)
    appendonly = stack.run("exec", "-T", "redis", "redis-cli", "config", "get", "appendonly")
    assert appendonly.split() == ["appendonly", "yes"]


def test_the_image_refuses_a_root_owned_workspace_mount(stack: Stack, base: Path) -> None:
    """What an operator gets when the engine made the workspace folder (root's) on first mount."""
    root_owned = base / "root-owned"
    root_owned.mkdir(mode=0o755)
    done = subprocess.run(
        ["docker", "run", "--rm", "--network", "none",
         "-v", f"{root_owned}:{root_owned}", "-e", f"TINGLE_WORKSPACE_ROOT={root_owned}",
         IMAGE, "worker"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert (
        f"cannot write in the workspace root (TINGLE_WORKSPACE_ROOT) {root_owned}: "
        "permission denied" in done.stderr
    ), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def _wait_finished(web: str, build_id: str, *, timeout: float, stack: Stack) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        build: dict[str, Any] = httpx.get(f"{web}/api/builds/{build_id}").json()
        if build["state"] not in ("queued", "running"):
            return build
        if time.monotonic() > deadline:
            raise AssertionError(f"build still {build['state']} after {timeout}s\n{stack.logs()}")
        time.sleep(0.5)
