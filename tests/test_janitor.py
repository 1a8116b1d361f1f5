"""The janitor's container pass on a real Docker engine: it removes the containers of this
Tingle's builds that no live worker runs, and nothing else."""

from __future__ import annotations

from typing import Any

from tests.conftest import TEST_IMAGE
from tingle.build import Build, BuildState
from tingle.executor.docker import BUILD_LABEL, INSTANCE_LABEL
from tingle.store import BuildStore
from tingle.worker.build_job import WorkerContext
from tingle.worker.janitor import Janitor


def container(docker_client: Any, build_id: str, instance: str) -> Any:
    labels = {BUILD_LABEL: build_id, INSTANCE_LABEL: instance}
    return docker_client.containers.create(TEST_IMAGE, ["true"], labels=labels)


def exists(docker_client: Any, made: Any) -> bool:
    return any(c.id == made.id for c in docker_client.containers.list(all=True, sparse=True))


async def test_orphans_go_live_builds_and_other_installations_stay(
    worker_context: WorkerContext, docker_client: Any
) -> None:
    instance = worker_context.settings.instance
    orphan = container(docker_client, "901", instance)  # its worker died: no heartbeat
    alive = container(docker_client, "902", instance)
    stranger = container(docker_client, "901", f"{instance}-another-tingle")
    store: BuildStore = worker_context.store
    await store.heartbeat("902", "worker-a", ttl_seconds=60)
    try:
        await Janitor(worker_context, store.redis).sweep()  # type: ignore[arg-type]
        assert not exists(docker_client, orphan)
        assert exists(docker_client, alive)
        assert exists(docker_client, stranger)
    finally:
        for made in (orphan, alive, stranger):
            if exists(docker_client, made):
                made.remove(force=True)


async def test_workspaces_of_ended_builds_go_running_ones_stay(
    worker_context: WorkerContext,
) -> None:
    root = worker_context.settings.workspace_root
    store = worker_context.store
    states = {"910": BuildState.FAILURE, "911": BuildState.SUCCESS, "912": BuildState.RUNNING}
    for build_id, state in states.items():
        build = Build(build_id, "octo/app", "a" * 40, "refs/heads/main", "push", "", state=state)
        await store.save(build)
    await store.heartbeat("911", "worker-a", ttl_seconds=60)  # its worker is removing it itself
    for name in ("910", "911", "912", "913"):  # 913: no record (not a build of this Redis)
        (root / name / "src").mkdir(parents=True)
    await Janitor(worker_context, store.redis).sweep()  # type: ignore[arg-type]
    assert await worker_context.cleanups.drain(30)
    assert sorted(p.name for p in root.iterdir() if p.name != ".trash") == ["911", "912", "913"]
