"""Builds a repository's image and pushes it to a registry with the docker SDK (the Docker engine's
half of `tingle.executor.docker.DockerEngine`). Synchronous like the SDK: the engine runs them
with `asyncio.to_thread`; `on_line` gets each output line in that thread (`line_bridge`).
Layer cache: the engine reuses earlier builds' layers by default; `cache_from` names an earlier
image of the repository (its default-branch tag) for a fresh worker. Only references present or
pullable are passed: with `cache_from`, the classic builder uses only the images named there."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import docker.errors
import requests
from docker import DockerClient

from tingle.errors import DeliveryError
from tingle.executor.base import LineWriter
from tingle.executor.images import PushedImage, RegistryAuth, split_reference

LineHandler = Callable[[str], None]
_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


def build_image(
    client: DockerClient,
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
        raise DeliveryError(f"{dockerfile}: no such file in this commit")
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
            raise DeliveryError("ended without an image")
        for tag in tags[1:]:
            client.api.tag(image_id, *split_reference(tag))
    return str(image_id)


def push_image(
    client: DockerClient, tag: str, *, on_line: LineHandler, auth: RegistryAuth | None = None
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
        raise DeliveryError(
            f"docker push {tag}: the registry answered no digest", infrastructure=True
        )
    return PushedImage(repository, name, digest)


def line_bridge(write_line: LineWriter, loop: asyncio.AbstractEventLoop) -> LineHandler:
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
        raise DeliveryError(f"{what} '{relative}' is outside the repository")
    return path


def _have(
    client: DockerClient, reference: str, on_line: LineHandler, auth: RegistryAuth | None
) -> bool:
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
            raise DeliveryError(str(event.get("errorDetail", {}).get("message") or event["error"]))
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
    except DeliveryError as exc:
        raise DeliveryError(f"{what}: {exc}", infrastructure=infrastructure) from exc
    except docker.errors.APIError as exc:
        broken = exc.status_code is None or exc.status_code >= 500
        raise DeliveryError(f"{what}: {exc.explanation or exc}", infrastructure=broken) from exc
    except (docker.errors.DockerException, requests.RequestException) as exc:
        raise DeliveryError(f"{what}: Docker engine: {exc}", infrastructure=True) from exc
