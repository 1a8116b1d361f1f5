"""Step and build timeouts, memory limits and log caps: a build that exceeds one ends, and says
which."""

from __future__ import annotations

from typing import Any

import pytest

from testing.payloads import push_payload, send
from tests.conftest import WEBHOOK_SECRET
from tests.e2e.test_push_to_status import build_info, log_of, record, step
from tingle.executor.docker import BUILD_LABEL, INSTANCE_LABEL
from tingle.settings import Settings

pytestmark = pytest.mark.usefixtures("docker_client")


def run_one(web: str, make_repo: Any, run_worker: Any, info: str, **overrides: Any) -> str:
    sha = make_repo("octo/app").commit({"build-info.yaml": info})
    response = send(web, "push", push_payload("octo/app", sha), secret=WEBHOOK_SECRET)
    run_worker(**overrides)
    build_id: str = response.json()["build_id"]
    return build_id


def test_step_timeout_kills_the_container(
    web: str, settings: Settings, make_repo: Any, run_worker: Any, docker_client: Any
) -> None:
    info = build_info(step("slow", "echo going", "sleep 60")).replace(
        "    commands:", "    timeout: 2\n    commands:"
    )
    build_id = run_one(web, make_repo, run_worker, info)
    build = record(settings, build_id)
    assert (build["state"], build["reason"]) == ("failure", "step 'slow' timed out after 2s")
    assert build["steps"][0]["state"] == "failure"
    assert log_of(settings, build_id, 0).splitlines()[-1] == "tingle: step timed out after 2s"
    assert build["steps"][0]["finished_at"] - build["steps"][0]["started_at"] < 20
    left = docker_client.containers.list(
        all=True,
        filters={"label": [f"{BUILD_LABEL}={build_id}", f"{INSTANCE_LABEL}={settings.instance}"]},
    )
    assert left == []


def test_build_timeout_ends_the_build(
    web: str, settings: Settings, make_repo: Any, run_worker: Any
) -> None:
    info = build_info(step("first", "true"), step("slow", "sleep 60"))
    build_id = run_one(web, make_repo, run_worker, info, build_timeout_seconds=3)
    build = record(settings, build_id)
    assert (build["state"], build["reason"]) == ("failure", "build timed out after 3s")
    assert [s["state"] for s in build["steps"]] == ["success", "error"]


def test_memory_limit_ends_the_step_saying_so(
    web: str, settings: Settings, make_repo: Any, run_worker: Any
) -> None:
    hog = "head -c 200000000 /dev/zero | tr '\\0' a | sort > /dev/null"  # sort holds it all
    build_id = run_one(web, make_repo, run_worker, build_info(step("hog", hog)), step_memory="32m")
    build = record(settings, build_id)
    assert build["state"] == "failure"
    assert build["reason"] == "step 'hog' ran out of memory (exit 137)"
    assert "ran out of memory" in log_of(settings, build_id, 0)


def test_log_cap_keeps_the_head_and_marks_the_cut(
    web: str, settings: Settings, make_repo: Any, run_worker: Any
) -> None:
    info = build_info(step("chatty", "seq 1 5000"))
    build_id = run_one(web, make_repo, run_worker, info, step_log_limit=1000)
    build = record(settings, build_id)
    assert build["state"] == "success"
    assert build["steps"][0]["log_truncated"] is True
    lines = log_of(settings, build_id, 0).splitlines()
    assert lines[:3] == ["+ seq 1 5000", "1", "2"]
    assert sum(len(line) + 1 for line in lines[:-1]) <= 1000
    assert lines[-1].startswith("tingle: log truncated at 1000 bytes;")
