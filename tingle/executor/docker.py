"""The Docker engine: steps in containers, images built and pushed (tingle.executor.docker_images),
and what dead workers left behind. With docker_images (and docker_workflow, for `tingle
run-workflow`), the only modules that import the docker SDK.

The SDK is synchronous: each call runs in a thread so the worker's event loop keeps serving other
builds and log writes. Every container carries a `tingle.build` label, and a worker's also the
worker's and its Tingle instance's, so teardown (and a janitor after a crash) can find and remove
them by build.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import docker
import docker.errors
import structlog
from docker import DockerClient
from docker.models.containers import Container

from tingle.errors import InfrastructureError
from tingle.executor import docker_images
from tingle.executor.base import (
    WORKSPACE_PATH,
    EngineOptions,
    LineWriter,
    OutputHandler,
    StepResult,
    step_script,
)
from tingle.executor.images import ImageBuild, PushedImage
from tingle.executor.output_handoff import OutputHandoff
from tingle.executor.workspace_mount import confine_root
from tingle.plan import RunStep

log = structlog.get_logger(__name__)

BUILD_LABEL = "tingle.build"
STEP_LABEL = "tingle.step"
WORKER_LABEL = "tingle.worker"  # which worker made the container; absent for `tingle exec`
INSTANCE_LABEL = "tingle.instance"  # which Tingle (Redis and key prefix) the worker serves
TIMEOUT_EXIT_CODE = 124  # what coreutils' `timeout` answers; shown when Tingle kills a step
# Step containers: no privilege gained through setuid binaries or file capabilities, and of root's
# capabilities only those that package managers and file tools use (chown and chmod of files not
# their own, switching user as apt and su do); no raw sockets, mknod, chroot, kill, setfcap, ...
STEP_CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID")
CONFINEMENT: dict[str, Any] = {
    "security_opt": ["no-new-privileges"],
    "cap_drop": ["ALL"],
    "cap_add": list(STEP_CAPABILITIES),
}


def connect(base_url: str | None = None) -> DockerClient:
    """A docker client from the environment (DOCKER_HOST), or for `base_url`."""
    try:
        client = docker.DockerClient(base_url=base_url) if base_url else docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        raise InfrastructureError(f"Docker engine unreachable: {exc}") from exc
    return client


class DockerEngine:
    """The Engine contract (tingle.executor.base) on one Docker engine."""

    def __init__(self, client: DockerClient, options: EngineOptions | None = None) -> None:
        self.client = client
        self._options = options or EngineOptions()

    def executor(self) -> DockerExecutor:
        o = self._options
        return DockerExecutor(
            self.client, network=o.network, pull_missing=o.pull_missing, memory=o.memory,
            cpus=o.cpus, pids=o.pids, worker=o.worker, instance=o.instance,
        )  # fmt: skip

    async def build_image(self, image: ImageBuild, on_line: LineWriter) -> str:
        return await asyncio.to_thread(
            docker_images.build_image, self.client, image.workspace, image.tags,
            dockerfile=image.dockerfile, context=image.context, build_args=image.build_args,
            labels=image.labels, cache_from=image.cache_from, network_mode=self._options.network,
            auth=self._options.registry_auth if image.credentials else None,
            on_line=docker_images.line_bridge(on_line, asyncio.get_running_loop()),
        )  # fmt: skip

    async def push_image(self, tag: str, on_line: LineWriter) -> PushedImage:
        return await asyncio.to_thread(
            docker_images.push_image, self.client, tag, auth=self._options.registry_auth,
            on_line=docker_images.line_bridge(on_line, asyncio.get_running_loop()),
        )  # fmt: skip

    async def remove_build(self, build_id: str) -> int:
        if self._options.instance is None:  # not a worker's: its containers carry no instance
            return 0
        return await asyncio.to_thread(
            remove_build_containers, self.client, build_id, self._options.instance
        )

    async def leftover_builds(self) -> set[str]:
        if self._options.instance is None:
            return set()
        # Only this Tingle's workers' containers: not `tingle exec`'s, not another Tingle's.
        containers = await asyncio.to_thread(
            _listed, self.client, [f"{INSTANCE_LABEL}={self._options.instance}"]
        )
        labels = ((c.attrs.get("Labels") or {}) for c in containers)
        return {found for found in (label.get(BUILD_LABEL, "") for label in labels) if found}


class DockerExecutor:
    def __init__(
        self,
        client: DockerClient,
        *,
        network: str = "bridge",
        pull_missing: bool = True,
        memory: str = "",
        cpus: float = 0.0,
        pids: int = 4096,
        worker: str | None = None,
        instance: str | None = None,
    ) -> None:
        self._client = client
        self._network = network
        self._pull_missing = pull_missing
        self._owner = (
            {WORKER_LABEL: worker, INSTANCE_LABEL: instance} if worker and instance else {}
        )
        self._limits: dict[str, Any] = {"pids_limit": pids}
        if memory:
            self._limits.update(mem_limit=memory, memswap_limit=memory)  # no swap beyond it
        if cpus:
            self._limits["nano_cpus"] = int(cpus * 1e9)
        self._build_id = ""
        self._workspace: Path | None = None
        # Each step's container as it is made: one still being made when the build is cancelled
        # is made all the same (the call runs in a thread), and teardown must remove it too.
        self._made: list[asyncio.Future[Container]] = []

    async def setup(self, build_id: str, workspace: Path) -> None:
        self._build_id = build_id
        self._workspace = workspace
        try:
            await asyncio.to_thread(self._client.ping)
        except Exception as exc:
            raise InfrastructureError(f"Docker engine unreachable: {exc}") from exc
        # 0700, and a worker's mounted nosuid,nodev (not `tingle exec`'s scratch folder); a
        # PathError names the root when it cannot be made
        await asyncio.to_thread(confine_root, workspace.parent, mount=bool(self._owner))

    async def run(
        self,
        step: RunStep,
        env: Mapping[str, str],
        on_output: OutputHandler,
        mounts: Mapping[str, Mapping[str, str]] | None = None,
    ) -> StepResult:
        made = asyncio.create_task(asyncio.to_thread(self._create, step, env, mounts or {}))
        self._made.append(made)
        container = await asyncio.shield(made)
        chunks = OutputHandoff(asyncio.get_running_loop())
        # Attach before start, as `docker run` does: following the logs of a started container
        # can end before a fast container's last lines arrive.
        stream = await asyncio.to_thread(
            container.attach, stdout=True, stderr=True, stream=True, logs=True
        )
        try:
            await asyncio.to_thread(container.start)
        except docker.errors.APIError as exc:
            raise InfrastructureError(
                f"step '{step.name}': container did not start: {exc}"
            ) from exc
        pump = threading.Thread(
            target=_pump, args=(stream, chunks), name=f"logs-{step.name}", daemon=True
        )
        pump.start()
        waiter = asyncio.create_task(asyncio.to_thread(container.wait))
        timed_out = False
        try:
            timed_out = await self._forward(chunks, on_output, step.timeout_seconds, container)
            status = await waiter
        except Exception as exc:
            waiter.cancel()
            raise InfrastructureError(f"step '{step.name}': {exc}") from exc
        if timed_out:
            return StepResult(exit_code=TIMEOUT_EXIT_CODE, timed_out=True)
        exit_code = int(status.get("StatusCode", -1))
        return StepResult(exit_code, out_of_memory=await asyncio.to_thread(_oom_killed, container))

    async def _forward(
        self,
        chunks: OutputHandoff,
        on_output: OutputHandler,
        limit_seconds: int | None,
        container: Container,
    ) -> bool:
        """Pass output on until the stream ends. True: the step ran out of time and was killed.
        However it ends (also by an error or a cancel), the handoff is closed, so the thread
        reading the stream is never left blocked on it."""
        loop = asyncio.get_running_loop()
        deadline = None if limit_seconds is None else loop.time() + limit_seconds
        try:
            while True:
                remaining = None if deadline is None else deadline - loop.time()
                try:  # only the wait is timed: a cancel inside on_output could lose a log batch
                    chunk = await asyncio.wait_for(chunks.get(), remaining)
                except TimeoutError:
                    await _kill(container, chunks, on_output)
                    return True
                if chunk is None:
                    return False
                await on_output(chunk)
        finally:
            chunks.close()

    def _create(
        self, step: RunStep, env: Mapping[str, str], mounts: Mapping[str, Mapping[str, str]]
    ) -> Container:
        assert self._workspace is not None, "setup() first"
        options: dict[str, Any] = {
            "image": step.image,
            "entrypoint": ["/bin/sh", "-c"],
            "command": [step_script(step.commands)],
            "working_dir": WORKSPACE_PATH,
            "environment": dict(env),
            "volumes": {
                str(self._workspace): {"bind": WORKSPACE_PATH, "mode": "rw"},
                **{host: dict(spec) for host, spec in mounts.items()},
            },
            "labels": {
                BUILD_LABEL: self._build_id,
                STEP_LABEL: step.name,
                **self._owner,
            },
            "network_mode": self._network,
            "detach": True,
            **CONFINEMENT,
            **self._limits,
        }
        try:
            return self._client.containers.create(**options)
        except docker.errors.ImageNotFound:
            self._pull(step.image)
            return self._client.containers.create(**options)
        except docker.errors.APIError as exc:
            raise InfrastructureError(f"step '{step.name}': {exc.explanation or exc}") from exc

    def _pull(self, image: str) -> None:
        if not self._pull_missing:
            raise InfrastructureError(f"image '{image}' not found")
        try:
            self._client.images.pull(image)
        except docker.errors.DockerException as exc:
            raise InfrastructureError(f"image '{image}' not found and could not be pulled") from exc

    async def teardown(self) -> None:
        made, self._made = self._made, []
        failed: Exception | None = None
        for creation in made:
            try:
                container = await creation
            except Exception:  # never made: the step failed with it
                continue
            try:
                await asyncio.to_thread(remove_container, container)
            except Exception as exc:  # the others go all the same
                failed = failed or exc
        if failed is not None:
            raise failed


def remove_build_containers(client: DockerClient, build_id: str, instance: str) -> int:
    """Remove every container of a build of this Tingle `instance` (build ids are only unique
    within one), e.g. those left behind by a worker that died."""
    labels = [f"{BUILD_LABEL}={build_id}", f"{INSTANCE_LABEL}={instance}"]
    found = _listed(client, labels)
    for container in found:
        remove_container(container)
    return len(found)


def _listed(client: DockerClient, labels: list[str]) -> list[Container]:
    """Every container, running or not, carrying all of `labels`. Sparse: listing in full inspects
    each container, and one removed meanwhile (by a clean-up running beside this) would make the
    listing fail."""
    found: list[Container] = client.containers.list(
        all=True, sparse=True, filters={"label": labels}
    )
    return found


def _oom_killed(container: Container) -> bool:
    container.reload()
    return bool(container.attrs.get("State", {}).get("OOMKilled"))


def remove_container(container: Container) -> None:
    """Force-remove `container` (gone or being removed already: fine); other APIErrors raise."""
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if exc.status_code != 409:  # 409: someone else is removing it already
            raise


async def _kill(container: Container, chunks: OutputHandoff, on_output: OutputHandler) -> None:
    """Stop a step at its deadline. What was handed over by then (a bounded handful of chunks)
    is passed on, nothing after: the rest of the stream is read to its end and discarded."""
    # Closed before the kill: dockerd ends a killed container only once its output is copied
    # out, so a pump held back by a full handoff would make the kill wait for ever.
    waiting = chunks.close()
    with contextlib.suppress(docker.errors.APIError):
        await asyncio.to_thread(container.kill)
    for chunk in waiting:
        await on_output(chunk)


def _pump(stream: Iterator[bytes], chunks: OutputHandoff) -> None:
    """Read the container's output to its end; blocks while the loop is behind (backpressure).
    Once the loop closed the handoff, chunks are read and discarded until the stream ends."""
    try:
        for chunk in stream:
            chunks.put(chunk)
    except Exception as exc:  # the container was removed or the engine went away mid-stream
        log.warning("log stream broken", error=str(exc))
    finally:
        chunks.put(None)
