"""Chaos: 50 builds while workers are SIGKILLed and restarted at random and Redis (append-only)
restarts once. Afterwards every build is terminal, each delivery built exactly once, and every
commit status is terminal."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import redis
from redis.asyncio import Redis as AsyncRedis

from testing.payloads import push_payload, send
from testing.processes import start_worker, stop
from testing.servers import RedisServer, serve_app
from tests.conftest import TEST_IMAGE, WEBHOOK_SECRET
from tingle.archive.blobs import BlobStore
from tingle.archive.logs import LogReader
from tingle.settings import Settings
from tingle.store import BuildStore

pytestmark = [
    pytest.mark.usefixtures("docker_client"),
    pytest.mark.timeout(600),  # its own deadlines add up to 420 s; it usually takes 2-3 minutes
]

BUILDS = 50
WORKERS = 3
SEED = 20261126


@pytest.fixture
def durable_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", appendonly=True)
    server.start()
    yield server
    server.stop()


def deliver(url: str, payload: dict[str, Any], delivery: str, deadline: float) -> str:
    """Send until Tingle accepts it, as GitHub's redelivery (or the reconciler) would."""
    while True:
        try:
            response = send(url, "push", payload, secret=WEBHOOK_SECRET, delivery=delivery)
            if response.status_code == 202:
                build_id: str = response.json()["build_id"]
                return build_id
            assert response.status_code == 503, response.text  # only "try again later"
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"delivery {delivery} never accepted"
        time.sleep(0.2)


class Chaos:
    """Kills a random worker now and then (SIGKILL: no goodbye) and starts a new one."""

    def __init__(self, settings: Settings, logs: Path, rng: random.Random) -> None:
        self.settings = settings
        self.logs = logs
        self.rng = rng
        self.workers = [self._start() for _ in range(WORKERS)]
        self.kills = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _start(self) -> subprocess.Popen[bytes]:
        return start_worker(self.settings, self.logs / f"worker-{uuid.uuid4().hex[:8]}.log")

    def _run(self) -> None:
        while not self.stopping.wait(self.rng.uniform(1.5, 4.0)):
            victim = self.rng.randrange(len(self.workers))
            self.workers[victim].send_signal(signal.SIGKILL)
            self.workers[victim].wait()
            self.kills += 1
            self.workers[victim] = self._start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()
        for worker in self.workers:
            stop(worker)


def log_text(settings: Settings, build_id: str) -> str:
    """Step 0's whole log as readers get it: from Redis, or from the archive."""

    async def read() -> str:
        client = AsyncRedis.from_url(settings.redis_url)
        try:
            store = BuildStore(client)
            build = await store.get(build_id)
            assert build is not None
            reader = LogReader(store, BlobStore.open(settings.archive_url))
            chunks = await (await reader.source(build, 0)).read()
            return "\n".join(chunk.text for chunk in chunks)
        finally:
            await client.aclose()

    return asyncio.run(read())


def test_chaos(
    settings: Settings, durable_redis: RedisServer, make_repo: Any, tmp_path: Path, fake_github: Any
) -> None:
    rng = random.Random(SEED)
    local = dataclasses.replace(
        settings,
        redis_url=durable_redis.url,
        worker_concurrency=2,
        heartbeat_seconds=0.5,
        heartbeat_ttl_seconds=2,
        janitor_seconds=1.0,
        shutdown_grace_seconds=1,
    )
    repo = make_repo("octo/app")
    commits = [
        repo.commit(
            {
                "build-info.yaml": "version: 2\nsteps:\n"
                f"  - name: work\n    image: {TEST_IMAGE}\n    commands:\n"
                f"      - sleep {rng.choice([0.5, 1, 1.5])}\n"
                f"      - echo built {n}\n"
            }
        )
        for n in range(BUILDS)
    ]
    deliveries = [f"chaos-{n}" for n in range(BUILDS)]
    logs = tmp_path / "logs"
    logs.mkdir()
    from tingle.web.app import create_app

    chaos = Chaos(local, logs, rng)
    chaos.thread.start()
    builds: dict[str, str] = {}
    try:
        with serve_app(create_app(local)) as url:
            deadline = time.monotonic() + 120
            for n, (sha, delivery) in enumerate(zip(commits, deliveries, strict=True)):
                payload = push_payload("octo/app", sha, branch=f"topic-{n}")
                builds[delivery] = deliver(url, payload, delivery, deadline)
                if n == BUILDS // 2:  # Redis goes away mid-stream, and comes back
                    durable_redis.stop()
                    time.sleep(1.0)
                    durable_redis.start()
                time.sleep(rng.uniform(0, 0.2))
            # A redelivery of every delivery after the storm: still no new build.
            for n, (sha, delivery) in enumerate(zip(commits, deliveries, strict=True)):
                payload = push_payload("octo/app", sha, branch=f"topic-{n}")
                assert deliver(url, payload, delivery, deadline) == builds[delivery]
            records = wait_all_terminal(local, list(builds.values()), timeout=240)
    except AssertionError:
        crashed = [
            line
            for log in logs.iterdir()
            for line in log.read_text().splitlines()
            if '"level": "error"' in line or "Traceback" in line
        ]
        print("\n".join(crashed[-40:]))
        raise
    finally:
        chaos.stop()

    client = redis.Redis.from_url(local.redis_url)
    assert client.zcard("tingle:builds") == BUILDS  # each delivery built exactly once
    assert len(set(builds.values())) == BUILDS
    states = [r["state"] for r in records]
    assert all(state in ("success", "error") for state in states), states
    for n, record in zip(range(BUILDS), records, strict=True):
        if record["state"] == "success":
            # Live or, once a janitor archived it (killed workers or not), archived.
            text = log_text(local, record["id"])
            assert text.splitlines().count(f"built {n}") == 1  # the last attempt's log only
    wait_statuses_terminal(fake_github, commits, timeout=60)
    print(f"\nchaos: {chaos.kills} worker kills, 1 Redis restart, states {summary(states)}")


def summary(states: list[str]) -> dict[str, int]:
    return {state: states.count(state) for state in sorted(set(states))}


def wait_all_terminal(settings: Settings, build_ids: list[str], timeout: float) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client = redis.Redis.from_url(settings.redis_url)
            raws = cast(list[bytes | None], client.mget([f"tingle:build:{b}" for b in build_ids]))
            records = [json.loads(raw) for raw in raws if raw is not None]
        except redis.ConnectionError:
            records = []
        done = [r for r in records if r["state"] not in ("queued", "running")]
        if len(done) == len(build_ids):
            return records
        stuck = [
            {k: r[k] for k in ("id", "state", "attempts", "worker", "reason")}
            for r in records
            if r["state"] in ("queued", "running")
        ]
        assert time.monotonic() < deadline, f"builds not terminal: {stuck}"
        time.sleep(0.5)


def wait_statuses_terminal(fake_github: Any, shas: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        pending = []
        for sha in shas:
            latest = {s["context"]: s["state"] for s in fake_github.statuses("octo/app", sha)}
            if not latest or "pending" in latest.values():
                pending.append((sha[:8], latest))
        if not pending:
            return
        assert time.monotonic() < deadline, f"statuses still pending: {pending[:5]}"
        time.sleep(0.5)
