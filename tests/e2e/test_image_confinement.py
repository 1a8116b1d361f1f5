"""Issue 13, item 1, end to end (signed webhooks over HTTP, real git, the real Docker engine and a
real registry): a fork's pull request cannot retag an agent image or another repository's image,
nor push anything.

On the code before, the first build tagged its image `tingle/agent-python:latest` and
`<registry>/acme/app:main` on the engine and pushed both (its push step ran for pull requests),
so every assertion on the images below failed; the second pushed `<registry>/acme/app:<sha>`.
Checked on a worktree of the code before (a decoy agent image stood in for the real one): the
agent's image id changed and the fork's push reached the registry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from testing.payloads import pull_request_payload, send
from testing.registry import Registry
from tests.conftest import TEST_IMAGE, WEBHOOK_SECRET
from tests.e2e.test_push_to_status import record
from tingle.settings import Settings

AGENT = "tingle/agent-python:latest"  # made by scripts/build-agents.sh
DOCKERFILE = f"FROM {TEST_IMAGE}\nRUN echo owned > /evil\n"
MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = Registry(tmp_path_factory.mktemp("registry"))
    yield server.host
    server.stop()


def registry_digest(registry: str, name: str, tag: str) -> str | None:
    answer = httpx.get(
        f"http://{registry}/v2/{name}/manifests/{tag}", headers={"Accept": MANIFEST}, timeout=10
    )
    return answer.headers.get("Docker-Content-Digest") if answer.status_code == 200 else None


@pytest.fixture
def victim(docker_client: Any, registry: str) -> Iterator[str]:
    """acme/app's image on the default branch, in the registry and on the engine."""
    reference = f"{registry}/acme/app:main"
    docker_client.images.get(TEST_IMAGE).tag(reference)
    docker_client.images.push(reference)
    yield reference
    docker_client.images.remove(reference, force=True)


def fork_pull_request(web: str, make_repo: Any, info: str) -> str:
    make_repo("acme/app").commit({"README.md": "base\n"})
    sha = make_repo("mallory/app").commit({"build-info.yaml": info, "Dockerfile": DOCKERFILE})
    payload = pull_request_payload("acme/app", sha, number=9, head="mallory/app")
    build_id: str = send(web, "pull_request", payload, secret=WEBHOOK_SECRET).json()["build_id"]
    return build_id


def test_a_fork_cannot_retag_an_agent_or_another_repositorys_image(
    web: str,
    settings: Settings,
    make_repo: Any,
    run_worker: Any,
    registry: str,
    victim: str,
    docker_client: Any,
) -> None:
    agent_id = docker_client.images.get(AGENT).id
    victim_id = docker_client.images.get(victim).id
    pushed = registry_digest(registry, "acme/app", "main")
    tags = f"[{AGENT}, {victim}]"
    info = (
        "version: 2\ntemplate:\n  type: docker\n  registry: " + registry + "\nsteps:\n"
        f"  - name: build\n    tags: {tags}\n"
        f"  - name: push\n    when:\n      event: [push, pull_request]\n    tags: {tags}\n"
    )
    build_id = fork_pull_request(web, make_repo, info)
    run_worker(registry=registry)

    assert docker_client.images.get(AGENT).id == agent_id
    assert docker_client.images.get(victim).id == victim_id
    assert registry_digest(registry, "acme/app", "main") == pushed is not None
    build = record(settings, build_id)
    assert build["state"] == "failure"
    assert "tags are not allowed: images are tagged <registry>/<owner>/<repo>" in build["reason"]


def test_a_forks_push_step_pushes_nothing(
    web: str, settings: Settings, make_repo: Any, run_worker: Any, registry: str
) -> None:
    info = (
        "version: 2\ntemplate:\n  type: docker\n"
        "steps:\n  - name: push\n    when:\n      event: pull_request\n"
    )
    build_id = fork_pull_request(web, make_repo, info)
    run_worker(registry=registry)

    build = record(settings, build_id)
    assert registry_digest(registry, "acme/app", build["sha"][:12]) is None
    assert [(s["name"], s["state"]) for s in build["steps"]] == [
        ("build", "success"),
        ("push", "failure"),
    ]
    assert build["reason"] == (
        "step 'push' failed: a pull request from a fork never pushes images"
    ), build["reason"]
    assert build["image"] is None
