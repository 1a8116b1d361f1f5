"""Issue 13, item 8a: restarting a held fork build through the API keeps the approval hold.

Before the fix, `restart_build` admitted the new build straight onto the queue (state `queued`,
an arq job, so the next worker ran the fork's code without approval) and left the held original
`held`, which is "active" forever. Both assertions below failed then."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

import httpx
import pytest
import redis

from tests.web.records import Records, make_build
from tingle.build import BuildState
from tingle.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, hold_forks=True)


def fork_pull_request(build_id: str) -> Any:
    return make_build(
        build_id,
        state=BuildState.HELD,
        steps=(),
        event="pull_request",
        ref="refs/heads/feature",
        branch="feature",
        pr_number=7,
        head_repo="stranger/app",
        is_fork=True,
        clone_url="https://github.com/stranger/app.git",
        started_at=None,
    )


def test_a_held_fork_build_restarted_stays_held_and_its_original_ends(
    web: str,
    records: Records,
    settings: Settings,
    admin_token: str,
    fake_github: object,
    run_worker: Any,
) -> None:
    records.save(fork_pull_request("701"))
    auth = {"Authorization": f"Bearer {admin_token}"}

    response = httpx.post(f"{web}/api/builds/701/restart", headers=auth, timeout=10)

    assert response.status_code == 201
    new_id = response.json()["build_id"]
    queue = redis.Redis.from_url(settings.redis_url)
    assert queue.zcard(settings.queue_name) == 0  # no job: no worker can take it
    run_worker()  # a burst worker: finds nothing to run
    new = records.get(new_id)
    assert (new.state, new.steps, new.attempts) == (BuildState.HELD, [], 0)
    original = records.get("701")
    assert (original.state, original.reason) == (BuildState.CANCELLED, f"restarted as #{new_id}")
    active = cast(set[bytes], queue.smembers(f"{settings.key_prefix}:active"))
    assert b"701" not in active

    approved = httpx.post(f"{web}/api/builds/{new_id}/approve", headers=auth, timeout=10)

    assert approved.json() == {"build_id": new_id, "approved": True}
    assert queue.zcard(settings.queue_name) == 1  # now, and only now, it may run
