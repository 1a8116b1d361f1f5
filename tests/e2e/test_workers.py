"""Several `tingle worker` processes share one queue and never run a build twice."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any, cast

import pytest
import redis

from testing.payloads import push_payload, send
from testing.processes import start_worker, stop
from tests.conftest import WEBHOOK_SECRET
from tests.e2e.test_push_to_status import build_info, log_of, step
from tingle.settings import Settings

pytestmark = pytest.mark.usefixtures("docker_client")

BUILDS = 8


def test_two_workers_share_builds_and_run_each_once(
    web: str, settings: Settings, make_repo: Any, tmp_path: Path, fake_github: Any
) -> None:
    repo = make_repo("octo/app")
    shas = [
        repo.commit(
            {
                "build-info.yaml": build_info(
                    step("work", "sleep 1", f"echo run {n} of $TINGLE_BUILD_ID")
                )
            }
        )
        for n in range(BUILDS)
    ]
    one_at_a_time = dataclasses.replace(settings, worker_concurrency=1)
    workers = [start_worker(one_at_a_time, tmp_path / f"worker-{i}.log") for i in range(2)]
    try:
        build_ids = [  # one branch each: a push to the same branch would supersede the last
            send(
                web, "push", push_payload("octo/app", sha, f"branch-{n}"), secret=WEBHOOK_SECRET
            ).json()["build_id"]
            for n, sha in enumerate(shas)
        ]
        records = wait_terminal(settings, build_ids, timeout=120)
    finally:
        codes = [stop(worker) for worker in workers]
    logs = "\n".join((tmp_path / f"worker-{i}.log").read_text() for i in range(2))
    assert codes == [0, 0], logs

    assert [r["state"] for r in records] == ["success"] * BUILDS, logs
    for n, build_id in enumerate(build_ids):
        assert log_of(settings, build_id, 0).count(f"run {n} of {build_id}") == 1
    assert len({r["worker"] for r in records}) == 2  # both workers took builds
    started = [json.loads(line) for line in logs.splitlines() if '"build started"' in line]
    assert sorted(line["build_id"] for line in started) == sorted(build_ids)  # once each


def wait_terminal(settings: Settings, build_ids: list[str], timeout: float) -> list[dict[str, Any]]:
    client = redis.Redis.from_url(settings.redis_url)
    deadline = time.monotonic() + timeout
    while True:
        raws = [cast(bytes | None, client.get(f"tingle:build:{b}")) for b in build_ids]
        records = [json.loads(raw or "{}") for raw in raws]
        if all(r.get("state") not in (None, "queued", "running") for r in records):
            return records
        if time.monotonic() > deadline:
            raise AssertionError(f"builds not finished: {[r.get('state') for r in records]}")
        time.sleep(0.2)
