"""Cancelling, superseding, restarting and handing back builds, on real workers and containers."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import redis

from testing.payloads import pull_request_payload, push_payload, send
from testing.processes import start_worker, stop
from testing.waiting import wait_for
from tests.conftest import WEBHOOK_SECRET
from tests.e2e.test_push_to_status import build_info, log_of, step
from tests.e2e.test_workers import wait_terminal
from tingle.builds import control
from tingle.builds.admission import Admitter
from tingle.builds.notices import BuildNotices
from tingle.executor.docker import BUILD_LABEL, INSTANCE_LABEL
from tingle.queue import connect
from tingle.settings import Settings
from tingle.store import BuildStore

pytestmark = pytest.mark.usefixtures("docker_client")


@dataclasses.dataclass
class Services:
    settings: Settings
    queue: Any
    store: BuildStore
    notices: BuildNotices
    admitter: Admitter


def call(settings: Settings, action: Any, *args: Any) -> Any:
    """Run a tingle.builds.control action the way the web app does, with its own connections."""

    async def run() -> Any:
        pool = connect(settings.redis_url)
        store = BuildStore(pool)
        admitter = Admitter(store, pool, settings.queue_name)
        services = Services(settings, pool, store, BuildNotices(pool, "tingle"), admitter)
        try:
            return await action(services, *args)
        finally:
            await pool.aclose()

    return asyncio.run(run())


def record(settings: Settings, build_id: str) -> dict[str, Any]:
    raw = redis.Redis.from_url(settings.redis_url).get(f"tingle:build:{build_id}")
    data: dict[str, Any] = json.loads(cast(bytes, raw))
    return data


def step_running(settings: Settings, build_id: str) -> bool:
    build = record(settings, build_id)
    return bool(build["steps"]) and build["steps"][0]["state"] == "running"


@pytest.fixture
def worker(settings: Settings, tmp_path: Path) -> Iterator[Any]:
    one_at_a_time = dataclasses.replace(settings, worker_concurrency=1)
    process = start_worker(one_at_a_time, tmp_path / "worker.log")
    yield process
    stop(process)


def test_cancel_a_running_build_kills_its_container(
    web: str, settings: Settings, make_repo: Any, worker: Any, fake_github: Any, docker_client: Any
) -> None:
    sha = make_repo("octo/app").commit(
        {"build-info.yaml": build_info(step("long", "echo started", "sleep 60"))}
    )
    build_id = send(web, "push", push_payload("octo/app", sha), secret=WEBHOOK_SECRET).json()[
        "build_id"
    ]
    wait_for(lambda: step_running(settings, build_id), what="the step to start")
    wait_for(lambda: "started" in log_of(settings, build_id, 0), what="the step's first line")

    assert call(settings, control.cancel_build, build_id, "cancelled by admin") is True
    [build] = wait_terminal(settings, [build_id], timeout=30)
    assert (build["state"], build["reason"]) == ("cancelled", "cancelled by admin")
    assert build["steps"][0]["state"] == "cancelled"
    labelled = docker_client.containers.list(
        all=True,
        filters={"label": [f"{BUILD_LABEL}={build_id}", f"{INSTANCE_LABEL}={settings.instance}"]},
    )
    assert labelled == []
    status = fake_github.wait_for_status("octo/app", sha, "tingle", "error", timeout=10)
    assert status["description"] == f"Build #{build_id} cancelled: cancelled by admin"
    assert call(settings, control.cancel_build, build_id, "again") is False  # already over


def test_three_pushes_to_a_pull_request_leave_only_the_last_build(
    web: str, settings: Settings, make_repo: Any, worker: Any, fake_github: Any
) -> None:
    repo = make_repo("octo/app")
    shas = [
        repo.commit({"build-info.yaml": build_info(step("test", "sleep 5", f"echo push {n}"))})
        for n in range(3)
    ]
    build_ids = []
    for n, sha in enumerate(shas):
        action = "opened" if n == 0 else "synchronize"
        payload = pull_request_payload("octo/app", sha, number=9, action=action)
        build_ids.append(
            send(web, "pull_request", payload, secret=WEBHOOK_SECRET).json()["build_id"]
        )
        if n == 0:  # the first one is running when the others arrive
            wait_for(lambda: step_running(settings, build_ids[0]), what="the first build to run")
    builds = wait_terminal(settings, build_ids, timeout=60)

    assert [b["state"] for b in builds] == ["cancelled", "cancelled", "success"]
    assert [b["superseded_by"] for b in builds[:2]] == build_ids[1:]  # each by the next
    for sha, newer in zip(shas[:2], build_ids[1:], strict=True):
        status = fake_github.wait_for_status("octo/app", sha, "tingle", "error", timeout=10)
        assert status["description"].endswith(f"cancelled: superseded by #{newer}")
        assert fake_github.statuses("octo/app", sha)[-1]["state"] == "error"
    fake_github.wait_for_status("octo/app", shas[2], "tingle", "success", timeout=10)
    for sha in shas[:2]:  # every stage status of a cancelled build ends terminal too
        latest = {s["context"]: s["state"] for s in fake_github.statuses("octo/app", sha)}
        assert "pending" not in latest.values(), latest

    # One comment on the pull request, edited in place, showing the last build.
    wait_for(
        lambda: any(
            f"#{build_ids[2]}" in c["body"] and "passed" in c["body"]
            for c in fake_github.comments("octo/app", 9)
        ),
        timeout=15,
        what="the comment to show the last build",
    )
    assert len(fake_github.comments("octo/app", 9)) == 1
    assert len(fake_github.requests_to("POST", "/repos/octo/app/issues/9/comments")) == 1
    assert len(fake_github.requests_to("PATCH", "/repos/octo/app/issues/comments/*")) >= 2


def test_pushes_to_other_branches_supersede_nothing(
    web: str, settings: Settings, make_repo: Any, run_worker: Any
) -> None:
    repo = make_repo("octo/app")
    first = repo.commit({"build-info.yaml": build_info(step("t", "true"))})
    second = repo.commit({"build-info.yaml": build_info(step("t", "true"))})
    a = send(web, "push", push_payload("octo/app", first, "main"), secret=WEBHOOK_SECRET)
    b = send(web, "push", push_payload("octo/app", second, "other"), secret=WEBHOOK_SECRET)
    run_worker()
    builds = [record(settings, r.json()["build_id"]) for r in (a, b)]
    assert [x["state"] for x in builds] == ["success", "success"]


def test_restart_runs_the_same_commit_again(
    web: str, settings: Settings, make_repo: Any, run_worker: Any
) -> None:
    sha = make_repo("octo/app").commit({"build-info.yaml": build_info(step("t", "echo again"))})
    first = send(web, "push", push_payload("octo/app", sha), secret=WEBHOOK_SECRET).json()[
        "build_id"
    ]
    run_worker()
    second = call(settings, control.restart_build, first)
    assert second != first
    run_worker()
    old, new = record(settings, first), record(settings, second)
    assert (old["state"], new["state"]) == ("success", "success")
    assert (new["sha"], new["repo"], new["ref"]) == (old["sha"], old["repo"], old["ref"])
    assert log_of(settings, second, 0).splitlines() == ["+ echo again", "again"]
    assert (old["attempts"], new["attempts"]) == (1, 1)  # a new build: its own count of runs


def test_sigterm_hands_a_build_back_and_another_worker_finishes_it(
    web: str, settings: Settings, make_repo: Any, tmp_path: Path, fake_github: Any
) -> None:
    sha = make_repo("octo/app").commit(
        {"build-info.yaml": build_info(step("slow", "sleep 4", "echo finished"))}
    )
    quick_exit = dataclasses.replace(settings, shutdown_grace_seconds=1)
    first = start_worker(quick_exit, tmp_path / "first.log")
    try:
        build_id = send(web, "push", push_payload("octo/app", sha), secret=WEBHOOK_SECRET).json()[
            "build_id"
        ]
        wait_for(lambda: step_running(settings, build_id), what="the step to start")
    finally:
        code = stop(first)
    assert code == 0, (tmp_path / "first.log").read_text()[-3000:]
    handed_back = record(settings, build_id)
    assert handed_back["state"] == "queued", (tmp_path / "first.log").read_text()
    second = start_worker(settings, tmp_path / "second.log")
    try:
        [build] = wait_terminal(settings, [build_id], timeout=60)
    finally:
        stop(second)
    assert build["state"] == "success", (tmp_path / "second.log").read_text()
    expected = ["+ sleep 4", "+ echo finished", "finished"]
    assert log_of(settings, build_id, 0).splitlines() == expected
    fake_github.wait_for_status("octo/app", sha, "tingle", "success", timeout=10)


def test_closing_the_pull_request_cancels_its_builds(
    web: str, settings: Settings, make_repo: Any, worker: Any, fake_github: Any
) -> None:
    sha = make_repo("octo/app").commit({"build-info.yaml": build_info(step("long", "sleep 60"))})
    opened = pull_request_payload("octo/app", sha, number=21)
    build_id = send(web, "pull_request", opened, secret=WEBHOOK_SECRET).json()["build_id"]
    wait_for(lambda: step_running(settings, build_id), what="the step to start")

    closed = pull_request_payload("octo/app", sha, number=21, action="closed")
    answer = send(web, "pull_request", closed, secret=WEBHOOK_SECRET)
    assert answer.json() == {"result": "closed", "reason": "pull request closed"}
    [build] = wait_terminal(settings, [build_id], timeout=30)
    assert (build["state"], build["reason"]) == ("cancelled", "pull request closed")
    fake_github.wait_for_status("octo/app", sha, "tingle", "error", timeout=10)


def test_deleting_the_branch_cancels_its_queued_builds(
    web: str, settings: Settings, make_repo: Any
) -> None:
    sha = make_repo("octo/app").commit({"build-info.yaml": build_info(step("t", "true"))})
    pushed = send(web, "push", push_payload("octo/app", sha, "doomed"), secret=WEBHOOK_SECRET)
    deleted = push_payload("octo/app", "0" * 40, "doomed")
    deleted.update(deleted=True, head_commit=None)
    answer = send(web, "push", deleted, secret=WEBHOOK_SECRET)
    assert answer.json()["result"] == "closed"
    build_id = pushed.json()["build_id"]
    wait_for(lambda: record(settings, build_id)["state"] == "cancelled", what="the cancel")
    assert record(settings, build_id)["reason"] == "branch deleted"


def test_a_fork_pull_request_waits_for_a_maintainers_approval(
    settings: Settings, make_repo: Any, fake_github: Any, tmp_path: Path
) -> None:
    import httpx

    from testing.servers import serve_app
    from tingle.web.app import create_app

    holding = dataclasses.replace(settings, hold_forks=True, admin_token="admin-token")
    make_repo("octo/app").commit({"README.md": "base\n"})
    sha = make_repo("stranger/app").commit({"build-info.yaml": build_info(step("t", "echo ran"))})
    payload = pull_request_payload("octo/app", sha, number=30, head="stranger/app")
    worker = start_worker(holding, tmp_path / "worker.log")
    try:
        with serve_app(create_app(holding)) as url:
            build_id = send(url, "pull_request", payload, secret=WEBHOOK_SECRET).json()["build_id"]
            # The worker runs nothing (the build is held) but posts the status the web recorded.
            status = fake_github.wait_for_status("octo/app", sha, "tingle", "pending", timeout=30)
            assert "waits for a maintainer's approval" in status["description"]
            assert record(settings, build_id)["state"] == "held"

            refused = httpx.post(f"{url}/api/builds/{build_id}/approve", timeout=10)
            assert refused.status_code == 401
            approved = httpx.post(
                f"{url}/api/builds/{build_id}/approve",
                headers={"Authorization": "Bearer admin-token"},
                timeout=10,
            )
            assert approved.json() == {"build_id": build_id, "approved": True}
            wait_for(lambda: record(settings, build_id)["state"] == "success", what="the build")
    finally:
        stop(worker)
    build = record(settings, build_id)
    assert (build["state"], build["reason"]) == ("success", None)
    assert log_of(settings, build_id, 0).splitlines() == ["+ echo ran", "ran"]
    fake_github.wait_for_status("octo/app", sha, "tingle", "success", timeout=10)
