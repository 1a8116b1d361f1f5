"""Builds a repository's image and pushes it to a registry (docker SDK). Synchronous like the SDK:
run them with `asyncio.to_thread`; `on_line` gets each output line in that thread (`line_bridge`).
Layer cache: the engine reuses earlier builds' layers by default; `cache_from` names an earlier
image of the repository (its default-branch tag) for a fresh worker. Only references present or
pullable are passed: with `cache_from`, the classic builder uses only the images named there."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker.errors
import requests

LineHandler = Callable[[str], None]
BUILD_URL_LABEL = "tingle.build.url"
_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


class ImageError(Exception):
    """The build or push failed. `infrastructure`: the engine or registry, not the repository."""

    def __init__(self, message: str, *, infrastructure: bool = False) -> None:
        super().__init__(message)
        self.infrastructure = infrastructure


@dataclass(frozen=True)
class RegistryAuth:
    username: str
    password: str


@dataclass(frozen=True)
class PushedImage:
    repository: str  # "127.0.0.1:5000/daily-reports"
    tag: str
    digest: str  # "sha256:..."

    @property
    def pinned(self) -> str:  # the reference that can never move: `repository@sha256:...`
        return f"{self.repository}@{self.digest}"


def split_reference(reference: str) -> tuple[str, str]:
    """`host:5000/name:tag` → (`host:5000/name`, `tag`); the tag is "latest" when absent."""
    name = reference.split("@", 1)[0]
    repository, sep, tag = name.rpartition(":")
    return (repository, tag) if sep and "/" not in tag else (name, "latest")


def add_branch_tag(tags: Sequence[str], branch: str) -> tuple[str, ...]:
    """`tags` plus `<repository>:<branch>` for each repository in them (for the default branch);
    the branch made a valid tag: `feature/x` → `feature-x`."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", branch).lstrip(".-")[:128] or "branch"
    repositories = dict.fromkeys(split_reference(tag)[0] for tag in tags)
    return tuple(dict.fromkeys([*tags, *(f"{repo}:{name}" for repo in repositories)]))


def image_labels(
    *, revision: str, source: str, build_url: str, created: datetime | None = None
) -> dict[str, str]:
    moment = (created or datetime.now(UTC)).astimezone(UTC)  # RFC 3339, as OCI asks
    return {
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.source": source.removesuffix(".git"),
        "org.opencontainers.image.created": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        BUILD_URL_LABEL: build_url,
    }


def build_image(
    client: Any,
    workspace: Path,
    tags: Sequence[str],
    *,
    dockerfile: str = "Dockerfile",
    context: str = ".",
    build_args: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    cache_from: Iterable[str] = (),
    network_mode: str | None = None,
    auth: RegistryAuth | None = None,
    on_line: LineHandler,
) -> str:
    """Build `dockerfile` with `context` (both in `workspace`), tagged `tags`; the image id."""
    context_dir = _inside(workspace, context, "context")
    dockerfile_path = _inside(workspace, dockerfile, "dockerfile")
    if not dockerfile_path.is_file():
        raise ImageError(f"{dockerfile}: no such file in this commit")
    with _engine_errors("docker build"):
        usable = [ref for ref in dict.fromkeys(cache_from) if _have(client, ref, on_line, auth)]
        # The SDK also takes a dockerfile outside the context (it adds it to the tarball).
        events = client.api.build(
            path=str(context_dir), dockerfile=str(dockerfile_path), tag=tags[0],
            buildargs=dict(build_args or {}), labels=dict(labels or {}), cache_from=usable or None,
            network_mode=network_mode, rm=True, forcerm=True, decode=True,
        )  # fmt: skip
        image_id = ""
        for event in _lines(events, on_line):
            image_id = event.get("aux", {}).get("ID", image_id)
        if not image_id:
            raise ImageError("ended without an image")
        for tag in tags[1:]:
            client.api.tag(image_id, *split_reference(tag))
    return str(image_id)


def push_image(
    client: Any, tag: str, *, on_line: LineHandler, auth: RegistryAuth | None = None
) -> PushedImage:
    """Push one tag; return the digest the registry recorded for it."""
    repository, name = split_reference(tag)
    digest = ""
    with _engine_errors(f"docker push {tag}", infrastructure=True):
        stream = client.api.push(
            repository, name, auth_config=_config(auth), stream=True, decode=True
        )
        for event in _lines(stream, on_line):
            found = _DIGEST.search(str(event.get("status", "")))
            digest = event.get("aux", {}).get("Digest") or (found.group(1) if found else digest)
    if not digest.startswith("sha256:"):
        raise ImageError(f"docker push {tag}: the registry answered no digest", infrastructure=True)
    return PushedImage(repository, name, digest)


def line_bridge(
    write_line: Callable[[str], Coroutine[Any, Any, None]], loop: asyncio.AbstractEventLoop
) -> LineHandler:
    """An `on_line` for a worker thread that hands each line to an async writer on `loop`, in
    order, waiting for each (so a slow log slows the build instead of piling up lines)."""

    def on_line(line: str) -> None:
        asyncio.run_coroutine_threadsafe(write_line(line), loop).result()

    return on_line


def _config(auth: RegistryAuth | None) -> dict[str, str] | None:
    return None if auth is None else {"username": auth.username, "password": auth.password}


def _inside(workspace: Path, relative: str, what: str) -> Path:
    path = (workspace / relative).resolve()
    if not path.is_relative_to(workspace.resolve()):
        raise ImageError(f"{what} '{relative}' is outside the repository")
    return path


def _have(client: Any, reference: str, on_line: LineHandler, auth: RegistryAuth | None) -> bool:
    """Whether `reference` is here to build from, pulling it if it can be."""
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.get(reference)
        return True
    try:
        client.images.pull(*split_reference(reference), auth_config=_config(auth))
    except docker.errors.DockerException:
        on_line(f"tingle: no cache image {reference}")
        return False
    on_line(f"tingle: pulled cache image {reference}")
    return True


def _lines(events: Iterable[dict[str, Any]], on_line: LineHandler) -> Iterator[dict[str, Any]]:
    """Pass the engine's output on as lines (progress bars left out); raise on an error event."""
    partial = ""
    for event in events:
        if "error" in event:
            raise ImageError(str(event.get("errorDetail", {}).get("message") or event["error"]))
        if "stream" in event:
            *lines, partial = (partial + str(event["stream"])).split("\n")
            for line in lines:
                on_line(line.rstrip("\r"))
        elif "status" in event and not event.get("progressDetail"):
            status = str(event["status"])
            on_line(f"{event['id']}: {status}" if event.get("id") else status)
        yield event
    if partial:
        on_line(partial)


@contextlib.contextmanager
def _engine_errors(what: str, *, infrastructure: bool = False) -> Iterator[None]:
    try:
        yield
    except ImageError as exc:
        raise ImageError(f"{what}: {exc}", infrastructure=infrastructure) from exc
    except docker.errors.APIError as exc:
        broken = exc.status_code is None or exc.status_code >= 500
        raise ImageError(f"{what}: {exc.explanation or exc}", infrastructure=broken) from exc
    except (docker.errors.DockerException, requests.RequestException) as exc:
        raise ImageError(f"{what}: Docker engine: {exc}", infrastructure=True) from exc
