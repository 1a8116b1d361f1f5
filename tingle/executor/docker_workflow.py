"""One workflow's container on the local Docker engine, run to its end (`tingle run-workflow`).
With docker and docker_images, the only modules that import the docker SDK.

Synchronous (a person waits at a terminal): the container's output goes to `write` as it comes,
and the container is removed however the run ends: its exit, its deadline (killed), an error, or
an exception raised into the caller by a signal (Ctrl-C) wherever it lands, even while the
container is still being made. Nothing is ever pulled: an image must already be on the engine.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import docker.errors
from docker import DockerClient
from docker.models.containers import Container

from tingle.errors import InfrastructureError
from tingle.executor.docker import remove_container

RUN_LABEL = "tingle.run-workflow"  # on every container it makes: the execution id
ChunkWriter = Callable[[bytes], None]


@dataclass(frozen=True)
class WorkflowContainer:
    name: str  # the execution id: the container's name and its RUN_LABEL
    image: str
    args: tuple[str, ...]  # empty: the image's own command, as Styx runs empty docker_args
    env: Mapping[str, str] = field(default_factory=dict)
    read_only_files: Mapping[str, str] = field(default_factory=dict)  # host path → container path
    network: str = "host"
    timeout_seconds: float | None = None


@dataclass(frozen=True)
class WorkflowExit:
    exit_code: int
    timed_out: bool = False


def local_image_labels(client: DockerClient, image: str) -> dict[str, str] | None:
    """The labels of `image` if the engine has it (None when it has not); never pulls."""
    try:
        found = client.images.get(image)
    except docker.errors.ImageNotFound:
        return None
    except docker.errors.DockerException as exc:
        raise InfrastructureError(f"image '{image}': {_explain(exc)}") from exc
    labels = (found.attrs.get("Config") or {}).get("Labels") or {}
    return {str(key): str(value) for key, value in labels.items()}


def run_workflow_container(
    client: DockerClient, spec: WorkflowContainer, write: ChunkWriter
) -> WorkflowExit:
    """Run `spec` to its end, passing its output (stdout and stderr as one stream) to `write`."""
    container = _create(client, spec)
    killed = threading.Event()
    try:
        # Attached before the start, as `docker run` does: a fast container's last lines are kept.
        stream = container.attach(stdout=True, stderr=True, stream=True, logs=True)
        container.start()
        with _deadline(container, spec.timeout_seconds, killed), contextlib.closing(stream):
            for chunk in stream:
                write(chunk)
        status = container.wait()
    except docker.errors.DockerException as exc:
        raise InfrastructureError(f"container {spec.name}: {_explain(exc)}") from exc
    finally:
        _remove(container)
    return WorkflowExit(int(status.get("StatusCode", -1)), timed_out=killed.is_set())


def _create(client: DockerClient, spec: WorkflowContainer) -> Container:
    options: dict[str, Any] = {
        "image": spec.image,
        "command": list(spec.args) or None,  # the image's entrypoint stays, as on Kubernetes
        "environment": dict(spec.env),
        "volumes": {
            host: {"bind": inside, "mode": "ro"} for host, inside in spec.read_only_files.items()
        },
        "name": spec.name,
        "labels": {RUN_LABEL: spec.name},
        "network_mode": spec.network,
        "detach": True,
    }
    try:
        return client.containers.create(**options)
    except docker.errors.DockerException as exc:
        raise InfrastructureError(f"container not made: {_explain(exc)}") from exc
    except BaseException:
        # Interrupted while the engine made it: it may exist all the same, under its name.
        with contextlib.suppress(docker.errors.DockerException):
            _remove(client.containers.get(spec.name))
        raise


@contextlib.contextmanager
def _deadline(
    container: Container, seconds: float | None, killed: threading.Event
) -> Iterator[None]:
    """Kill the container `seconds` from now unless the block ends first; `killed` says so."""
    if seconds is None:
        yield
        return

    def kill() -> None:
        killed.set()
        try:
            container.kill()
        except docker.errors.DockerException:  # it ended just before: not killed after all
            killed.clear()

    timer = threading.Timer(seconds, kill)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()  # a kill under way is done (and `killed` settled) before anyone reads it


def _remove(container: Container) -> None:
    try:
        remove_container(container)
    except docker.errors.APIError as exc:
        raise InfrastructureError(f"container {container.name}: {_explain(exc)}") from exc


def _explain(exc: docker.errors.DockerException) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc)
