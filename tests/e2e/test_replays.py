"""Replays (issue 13, item 5), performed for real: signed webhooks over HTTP, burst workers, the
Docker engine, a real registry and the Styx fake.

The attacker holds a body GitHub signed (a delivery's log, a proxy) and sends it again under a new
`X-GitHub-Delivery`. Before the fix each replay built again (and superseded the build running),
and an old push to main replayed after a newer one deployed the old commit. Run on that code
(commit 27c15f2), the first test fails at its `duplicate` assertion (the replay is queued as
build 2). The second fails at its first look at Styx (components were named without the owner
then); with the component name and the replay-window steps adapted to that code, the replayed
old push builds with `success`: nothing asked GitHub for the branch's head, so it deployed the
old commit.
"""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
import redis

from testing.fakes.styx import FakeStyx
from testing.payloads import push_payload, send
from tests.conftest import TEST_IMAGE, WEBHOOK_SECRET
from tests.e2e.test_delivery import delivery_settings, registry, sample_files
from tests.e2e.test_push_to_status import record
from tests.fakes.fixtures import STYX_TOKEN
from tingle.settings import Settings

pytestmark = pytest.mark.usefixtures("docker_client")
__all__ = ["delivery_settings", "registry"]  # fixtures shared with test_delivery.py

QUICK = f"""version: 2
steps:
  - name: hello
    image: {TEST_IMAGE}
    commands: [echo hello]
"""


def test_the_same_push_re_sent_under_a_new_delivery_id_builds_nothing_and_cancels_nothing(
    web: str, settings: Settings, make_repo: Any, run_worker: Any
) -> None:
    sha = make_repo("octo/app").commit({"build-info.yaml": QUICK})
    body = json.dumps(push_payload("octo/app", sha)).encode()
    first = send(web, "push", body, secret=WEBHOOK_SECRET)
    replay = send(web, "push", body, secret=WEBHOOK_SECRET)  # the same body, a new delivery id
    assert first.status_code == replay.status_code == 202
    assert first.json()["result"] == "queued"
    assert replay.json()["result"] == "duplicate"
    assert replay.json()["build_id"] == first.json()["build_id"]
    run_worker()

    client = redis.Redis.from_url(settings.redis_url)
    assert client.zcard("tingle:builds") == 1  # nothing new was built
    build = record(settings, first.json()["build_id"])
    assert (build["state"], build["reason"]) == ("success", None)  # and nothing cancelled it
    assert not client.exists(f"tingle:cancel:{build['id']}")


def test_an_old_push_to_main_replayed_after_a_newer_one_deploys_nothing(
    web: str,
    delivery_settings: Settings,
    make_repo: Any,
    run_worker: Any,
    registry: str,
    styx: FakeStyx,
) -> None:
    repo = make_repo("octo/data-pipeline")
    old_sha = repo.commit(sample_files(registry), "old")
    old_body = json.dumps(push_payload("octo/data-pipeline", old_sha)).encode()
    deliver = {
        "styx_api_url": delivery_settings.styx_api_url,
        "styx_token": STYX_TOKEN,
        "registry": registry,  # the operator's TINGLE_REGISTRY: images go there, not the sample's
    }
    send(web, "push", old_body, secret=WEBHOOK_SECRET)
    run_worker(**deliver)
    new_sha = repo.commit({"README.md": "a newer commit\n"}, "new")
    newer = send(web, "push", push_payload("octo/data-pipeline", new_sha), secret=WEBHOOK_SECRET)
    run_worker(**deliver)
    assert record(delivery_settings, newer.json()["build_id"])["state"] == "success"
    deployed = styx.workflow("octo--data-pipeline", "daily-report")
    assert deployed is not None and deployed["commit_sha"] == new_sha

    # Within GitHub's redelivery window the replay is the same event: a duplicate, no build.
    replay = send(web, "push", old_body, secret=WEBHOOK_SECRET)
    assert replay.json()["result"] == "duplicate"

    # Past the window (its key expired), it builds, but the deploy asks GitHub first.
    client = redis.Redis.from_url(delivery_settings.redis_url)
    client.delete(*cast(list[bytes], client.keys("tingle:event:*")))
    late = send(web, "push", old_body, secret=WEBHOOK_SECRET)
    assert late.json()["result"] == "queued"
    run_worker(**deliver)

    build = record(delivery_settings, late.json()["build_id"])
    assert build["state"] == "failure"
    assert [(s["name"], s["state"]) for s in build["steps"]][-1] == ("deploy", "failure")
    assert f"main has moved on to {new_sha}: not deploying an older commit" in build["reason"]
    still = styx.workflow("octo--data-pipeline", "daily-report")
    assert still == deployed  # the newer image, untouched
