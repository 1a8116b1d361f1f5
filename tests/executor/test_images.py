"""Image build and push on the real Docker engine and a real registry (Debian's docker-registry,
started by scripts/registry.sh on 127.0.0.1, which Docker treats as an insecure registry)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from testing.registry import Registry
from testing.servers import free_port
from tests.conftest import TEST_IMAGE
from tingle.errors import DeliveryError
from tingle.executor.docker_images import build_image, line_bridge, push_image
from tingle.executor.images import (
    BUILD_URL_LABEL,
    RegistryAuth,
    add_branch_tag,
    image_labels,
    split_reference,
)

SHA = "3f786850e387550fdab836ed7e6dc881de23001b"
DOCKERFILE = f"""FROM {TEST_IMAGE}
ARG GREETING=hello
RUN echo "$GREETING" > /greeting.txt
COPY hello.txt /hello.txt
"""


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = Registry(tmp_path_factory.mktemp("registry"))
    yield server.host
    server.stop()


@pytest.fixture
def images(docker_client: Any) -> Iterator[list[str]]:
    """References to remove from the engine after the test."""
    made: list[str] = []
    yield made
    for reference in reversed(made):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            docker_client.images.remove(reference, force=True)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    root.mkdir()
    (root / "Dockerfile").write_text(DOCKERFILE)
    (root / "hello.txt").write_text("hello from the workspace\n")
    return root


def unique_repository(registry: str) -> str:
    return f"{registry}/daily-reports-{uuid.uuid4().hex[:8]}"


async def test_build_push_remove_and_pull_back_by_digest(
    docker_client: Any, registry: str, workspace: Path, images: list[str]
) -> None:
    repository = unique_repository(registry)
    tags = add_branch_tag([f"{repository}:{SHA[:12]}"], "main")
    assert tags == (f"{repository}:{SHA[:12]}", f"{repository}:main")
    labels = image_labels(
        revision=SHA,
        source="https://github.com/acme/daily-reports.git",
        build_url="http://tingle.test/builds/b1",
        created=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    )
    lines: list[str] = []

    async def write_line(line: str) -> None:
        lines.append(line)

    on_line = line_bridge(write_line, asyncio.get_running_loop())
    images.extend(tags)
    image_id = await asyncio.to_thread(
        build_image, docker_client, workspace, tags,
        build_args={"GREETING": "hi from a build arg"}, labels=labels, on_line=on_line,
    )  # fmt: skip
    assert image_id.startswith("sha256:")
    assert "Step 1/8 : FROM tingle/busybox:latest" in lines  # each label is a step of its own
    assert all(docker_client.images.get(tag).id == image_id for tag in tags)

    pushed = [
        await asyncio.to_thread(push_image, docker_client, tag, on_line=on_line) for tag in tags
    ]
    digest = pushed[0].digest
    assert digest.startswith("sha256:") and len(digest) == 71
    assert {p.digest for p in pushed} == {digest}  # one image, one manifest, two tags
    assert pushed[0].pinned == f"{repository}@{digest}"
    assert any("digest: " + digest in line for line in lines)

    for tag in tags:
        docker_client.images.remove(tag, force=True)
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(image_id)
    images.append(pushed[0].pinned)
    pulled = docker_client.images.pull(pushed[0].pinned)
    assert pulled.id == image_id
    assert pulled.labels == {
        "org.opencontainers.image.revision": SHA,
        "org.opencontainers.image.source": "https://github.com/acme/daily-reports",
        "org.opencontainers.image.created": "2024-05-01T12:00:00Z",
        BUILD_URL_LABEL: "http://tingle.test/builds/b1",
    }
    output = docker_client.containers.run(
        pulled.id, ["cat", "/greeting.txt", "/hello.txt"], remove=True, network_mode="none"
    )
    assert output == b"hi from a build arg\nhello from the workspace\n"


def test_a_second_build_reuses_the_layers_of_the_first(
    docker_client: Any, registry: str, workspace: Path, images: list[str]
) -> None:
    repository = unique_repository(registry)
    first, second = f"{repository}:one", f"{repository}:two"
    images.extend([first, second])
    build_image(docker_client, workspace, [first], on_line=lambda line: None)
    lines: list[str] = []
    missing = f"{repository}:never-pushed"
    build_image(
        docker_client, workspace, [second], cache_from=[first, missing], on_line=lines.append
    )
    assert lines.count(" ---> Using cache") == 3  # ARG, RUN and COPY
    assert f"tingle: no cache image {missing}" in lines
    assert docker_client.images.get(first).id == docker_client.images.get(second).id


def test_a_failing_build_raises_with_the_engine_s_message(
    docker_client: Any, workspace: Path, images: list[str]
) -> None:
    (workspace / "Dockerfile").write_text(f"FROM {TEST_IMAGE}\nRUN echo about to fail; exit 3\n")
    lines: list[str] = []
    tag = f"tingle-test/failing-{uuid.uuid4().hex[:8]}:x"
    images.append(tag)
    with pytest.raises(DeliveryError) as caught:
        build_image(docker_client, workspace, [tag], on_line=lines.append)
    assert str(caught.value).startswith("docker build: The command '/bin/sh -c echo about to fail")
    assert "returned a non-zero code: 3" in str(caught.value)
    assert not caught.value.infrastructure  # the repository's build failed, not Tingle
    assert "about to fail" in lines


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"dockerfile": "nope/Dockerfile"}, "nope/Dockerfile: no such file in this commit"),
        ({"dockerfile": "../Dockerfile"}, "dockerfile '../Dockerfile' is outside the repository"),
        ({"context": "/etc"}, "context '/etc' is outside the repository"),
    ],
)
def test_paths_are_checked_before_the_engine_is_asked(
    docker_client: Any, workspace: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(DeliveryError, match=f"^{message}$"):
        build_image(docker_client, workspace, ["x:y"], on_line=lambda line: None, **options)


def test_a_dockerfile_in_a_subfolder_with_another_context(
    docker_client: Any, workspace: Path, images: list[str]
) -> None:
    (workspace / "docker").mkdir()
    (workspace / "docker" / "Dockerfile.app").write_text(DOCKERFILE)
    (workspace / "app").mkdir()
    (workspace / "app" / "hello.txt").write_text("from app/\n")
    tag = f"tingle-test/sub-{uuid.uuid4().hex[:8]}:x"
    images.append(tag)
    build_image(
        docker_client, workspace, [tag], dockerfile="docker/Dockerfile.app", context="app",
        on_line=lambda line: None,
    )  # fmt: skip
    output = docker_client.containers.run(
        tag, ["cat", "/hello.txt"], remove=True, network_mode="none"
    )
    assert output == b"from app/\n"


def test_push_with_credentials_to_a_registry_that_requires_them(
    docker_client: Any, workspace: Path, images: list[str], tmp_path: Path
) -> None:
    with warnings.catch_warnings():  # crypt: the one bcrypt in the standard library, for now
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

        hashed = crypt.crypt("s3cret-pass", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"tingle:{hashed}\n")
    server = Registry(tmp_path / "auth-registry", htpasswd)
    try:
        tag = f"{unique_repository(server.host)}:abc"
        images.append(tag)
        build_image(docker_client, workspace, [tag], on_line=lambda line: None)
        with pytest.raises(DeliveryError, match=f"^docker push {tag}: .*no basic auth credentials"):
            push_image(docker_client, tag, on_line=lambda line: None)
        wrong = RegistryAuth("tingle", "wrong")
        with pytest.raises(DeliveryError) as caught:
            push_image(docker_client, tag, auth=wrong, on_line=lambda line: None)
        assert caught.value.infrastructure
        pushed = push_image(
            docker_client,
            tag,
            auth=RegistryAuth("tingle", "s3cret-pass"),
            on_line=lambda line: None,
        )
        assert pushed.digest.startswith("sha256:")
    finally:
        server.stop()


def test_a_registry_that_is_not_there(
    docker_client: Any, workspace: Path, images: list[str]
) -> None:
    tag = f"127.0.0.1:{free_port()}/nowhere:x"
    images.append(tag)
    build_image(docker_client, workspace, [tag], on_line=lambda line: None)
    with pytest.raises(DeliveryError, match=f"^docker push {tag}: .*connection refused") as caught:
        push_image(docker_client, tag, on_line=lambda line: None)
    assert caught.value.infrastructure


def test_references() -> None:
    assert split_reference("127.0.0.1:5000/acme/x:abc") == ("127.0.0.1:5000/acme/x", "abc")
    assert split_reference("127.0.0.1:5000/x") == ("127.0.0.1:5000/x", "latest")
    assert split_reference("x@sha256:00") == ("x", "latest")
    assert add_branch_tag(["r:1", "r:2", "s:1"], "feature/new.thing") == (
        "r:1", "r:2", "s:1", "r:feature-new.thing", "s:feature-new.thing",
    )  # fmt: skip
    assert add_branch_tag(["r:main"], "main") == ("r:main",)
    assert add_branch_tag(["r:1"], "-/x")[-1] == "r:x"
