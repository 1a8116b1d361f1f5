"""Feedback to GitHub: stage statuses, a GitHub App whose installation token expires or is revoked
mid-build, and statuses that catch up after GitHub failed."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import pytest

from testing.payloads import push_payload, send
from tests.conftest import WEBHOOK_SECRET
from tests.e2e.test_push_to_status import build_info, record, step
from tingle.build import Build, BuildState
from tingle.forge.factory import github_clients
from tingle.forge.feedback import make_feedback
from tingle.queue import connect
from tingle.settings import Settings
from tingle.store import BuildStore

pytestmark = pytest.mark.usefixtures("docker_client")


def latest(fake_github: Any, repo: str, sha: str) -> dict[str, str]:
    return {s["context"]: s["state"] for s in fake_github.statuses(repo, sha)}


def test_each_stage_has_a_status_that_ends_terminal(
    web: str, settings: Settings, make_repo: Any, run_worker: Any, fake_github: Any
) -> None:
    sha = make_repo("octo/app").commit(
        {"build-info.yaml": build_info(step("lint", "true"), step("test", "exit 1"))}
    )
    send(web, "push", push_payload("octo/app", sha), secret=WEBHOOK_SECRET)
    run_worker()
    fake_github.wait_for_status("octo/app", sha, "tingle/test", "failure", timeout=10)
    assert latest(fake_github, "octo/app", sha) == {"tingle": "failure", "tingle/test": "failure"}
    counts: dict[str, int] = {}
    for status in fake_github.statuses("octo/app", sha):
        counts[status["context"]] = counts.get(status["context"], 0) + 1
    assert counts["tingle/test"] <= 3  # pending, maybe running, failure: never one per step


def app_settings(settings: Settings, github_app: Any) -> Settings:
    return dataclasses.replace(
        settings,
        github_token="",
        github_app_id=str(github_app.app_id),
        github_app_private_key=github_app.private_key,
    )


def installation_push(sha: str, installation_id: int) -> dict[str, Any]:
    payload = push_payload("octo/app", sha)
    payload["installation"] = {"id": installation_id}
    return payload


def test_app_token_that_expires_mid_build_is_refreshed(
    settings: Settings, make_repo: Any, fake_github: Any, github_app: Any
) -> None:
    # Tokens last just over the 5-minute refresh margin: fresh for the first status, due for a
    # refresh by the time the build ends.
    fake_github.token_lifetime = 302
    local = app_settings(settings, github_app)
    sha = make_repo("octo/app").commit({"build-info.yaml": build_info(step("wait", "sleep 3"))})
    build_id = _build_through(local, installation_push(sha, github_app.installation_id))

    assert record(local, build_id)["state"] == "success"
    fake_github.wait_for_status("octo/app", sha, "tingle", "success", timeout=15)
    posts = fake_github.requests_to("POST", "/repos/octo/app/statuses/*")
    assert all(r.status == 201 for r in posts)  # no status was refused for an expired token
    token_of = {
        (r.json["context"], r.json["description"]): r.headers["authorization"] for r in posts
    }
    running = token_of[("tingle", f"Build #{build_id} running")]  # the worker's first token
    done = next(v for (ctx, text), v in token_of.items() if ctx == "tingle" and "passed" in text)
    assert done != running  # the worker refreshed its token before it expired
    assert len(fake_github.installation_tokens) <= 3  # web 1, worker 2: one refresh, not more


def test_app_token_revoked_mid_build_is_replaced_once(
    settings: Settings, make_repo: Any, fake_github: Any, github_app: Any
) -> None:
    local = app_settings(settings, github_app)
    sha = make_repo("octo/app").commit({"build-info.yaml": build_info(step("wait", "sleep 3"))})

    issued_before: list[int] = []

    def revoke_when_pending() -> None:
        fake_github.wait_for_status("octo/app", sha, "tingle/test", "pending", timeout=15)
        issued_before.append(len(fake_github.installation_tokens))
        fake_github.revoke_installation_tokens()

    build_id = _build_through(
        local, installation_push(sha, github_app.installation_id), during=revoke_when_pending
    )
    assert record(local, build_id)["state"] == "success"
    fake_github.wait_for_status("octo/app", sha, "tingle", "success", timeout=15)
    assert len(fake_github.installation_tokens) == issued_before[0] + 1  # one refresh, not more


def _build_through(settings: Settings, payload: dict[str, Any], during: Any = None) -> str:
    """Webhook, then a worker, in threads of this test: `during` runs while the build runs."""
    import threading

    from testing.servers import serve_app
    from tingle.web.app import create_app
    from tingle.worker.arq_worker import run_worker

    with serve_app(create_app(settings)) as url:
        build_id: str = send(url, "push", payload, secret=WEBHOOK_SECRET).json()["build_id"]
        worker = threading.Thread(target=lambda: asyncio.run(run_worker(settings, burst=True)))
        worker.start()
        if during is not None:
            during()
        worker.join(60)
    return build_id


def test_a_status_github_refused_for_a_while_catches_up(
    settings: Settings, redis_url: str, fake_github: Any
) -> None:
    fake_github.fail_next(8, 502, method="POST", path="/repos/octo/app/statuses/*")

    async def scenario() -> None:
        pool = connect(redis_url)
        store = BuildStore(pool)
        feedback = make_feedback(pool, store, settings, github_clients(settings))
        build = Build(id="77", repo="octo/app", sha="c" * 40, ref="refs/heads/main",
                      event="push", clone_url="", state=BuildState.SUCCESS,
                      started_at=time.time() - 5, finished_at=time.time())  # fmt: skip
        await feedback.build_changed(build)
        await feedback.publisher.drain()
        assert fake_github.statuses("octo/app", "c" * 40) == []  # PyGithub's retries ran out
        due = await pool.zrange("tingle:feedback:due", 0, -1, withscores=True)
        assert len(due) == 1 and due[0][1] > time.time()  # due again later, with backoff
        await pool.zadd("tingle:feedback:due", {due[0][0]: 0})  # ... that time has come
        while await feedback.publisher.sweep() == 0:  # the janitor's sweep catches up
            await pool.zadd("tingle:feedback:due", {due[0][0]: 0})
        await pool.aclose()

    asyncio.run(scenario())
    [status] = fake_github.statuses("octo/app", "c" * 40)
    assert status["state"] == "success"


def test_a_stage_shown_by_an_earlier_attempt_ends_terminal(
    settings: Settings, redis_url: str, fake_github: Any
) -> None:
    """An attempt published `tingle/test` pending; the build was handed back (its steps reset)
    and then ended in error before a new attempt compiled: the stage must not stay pending."""
    from tingle.build import StepRecord, StepState

    sha = "d" * 40

    async def scenario() -> None:
        pool = connect(redis_url)
        store = BuildStore(pool)
        first = make_feedback(pool, store, settings, github_clients(settings))
        build = Build(id="88", repo="octo/app", sha=sha, ref="refs/heads/main", event="push",
                      clone_url="", state=BuildState.RUNNING,
                      steps=[StepRecord("test", state=StepState.RUNNING)])  # fmt: skip
        await first.build_changed(build)
        await first.publisher.drain()
        later = make_feedback(pool, store, settings, github_clients(settings))  # another worker
        build.steps, build.state, build.reason = [], BuildState.ERROR, "its worker died 3 times"
        await later.build_changed(build)
        await later.publisher.drain()
        await pool.aclose()

    asyncio.run(scenario())
    assert latest(fake_github, "octo/app", sha) == {"tingle": "error", "tingle/test": "error"}
