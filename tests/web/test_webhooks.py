"""The webhook receiver on real HTTP and a real Redis: what it accepts, refuses, and queues."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any, cast

import pytest
import redis

from testing.payloads import octokit, pull_request_payload, push_payload, send
from testing.servers import RedisServer, serve_app
from tests.conftest import WEBHOOK_SECRET
from tests.support.notices import follow_notices
from tingle.settings import Settings

SHA = "a" * 40


def queued_jobs(settings: Settings) -> int:
    return cast(int, redis.Redis.from_url(settings.redis_url).zcard(settings.queue_name))


def stored_builds(settings: Settings) -> int:
    return cast(int, redis.Redis.from_url(settings.redis_url).zcard("tingle:builds"))


def test_push_is_queued_with_a_build_record(web: str, settings: Settings) -> None:
    response = send(web, "push", push_payload("octo/app", SHA), secret=WEBHOOK_SECRET)
    assert response.status_code == 202
    body = response.json()
    assert body["result"] == "queued"
    assert body["url"] == f"http://tingle.test/builds/{body['build_id']}"
    raw = redis.Redis.from_url(settings.redis_url).get(f"tingle:build:{body['build_id']}")
    record = json.loads(cast(bytes, raw))
    assert (record["repo"], record["sha"], record["ref"], record["event"], record["state"]) == (
        "octo/app",
        SHA,
        "refs/heads/main",
        "push",
        "queued",
    )
    assert queued_jobs(settings) == 1


def test_a_worker_posts_the_pending_status_the_web_app_tells_it_about(
    web: str, settings: Settings, fake_github: Any
) -> None:
    build_id = send(web, "push", push_payload("octo/app", SHA), secret=WEBHOOK_SECRET).json()[
        "build_id"
    ]
    client = redis.Redis.from_url(settings.redis_url)
    assert client.lrange("tingle:feedback:changed", 0, -1) == [build_id.encode()]
    assert client.zcard("tingle:feedback:due") == 0  # the web app works out no status itself

    follow_notices(settings, lambda: fake_github.statuses("octo/app", SHA))
    [status] = fake_github.statuses("octo/app", SHA)
    assert (status["context"], status["state"]) == ("tingle", "pending")
    assert status["target_url"] == f"http://tingle.test/builds/{build_id}"
    assert status["description"] == f"Build #{build_id} queued"
    assert client.llen("tingle:feedback:changed") == 0


def test_pull_request_is_queued_from_its_head(web: str, settings: Settings) -> None:
    payload = pull_request_payload("octo/app", SHA, number=12, head="fork/app")
    build_id = send(web, "pull_request", payload, secret=WEBHOOK_SECRET).json()["build_id"]
    raw = redis.Redis.from_url(settings.redis_url).get(f"tingle:build:{build_id}")
    record = json.loads(cast(bytes, raw))
    assert record["pr_number"] == 12
    assert record["is_fork"] is True
    assert record["clone_url"] == "https://github.com/fork/app.git"


def test_form_encoded_body_is_accepted(web: str, settings: Settings) -> None:
    body = urllib.parse.urlencode({"payload": json.dumps(push_payload("octo/app", SHA))}).encode()
    response = send(
        web, "push", body, secret=WEBHOOK_SECRET, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 202
    assert queued_jobs(settings) == 1


def test_redelivery_answers_the_same_build_and_builds_nothing_new(
    web: str, settings: Settings
) -> None:
    payload = push_payload("octo/app", SHA)
    first = send(web, "push", payload, secret=WEBHOOK_SECRET, delivery="delivery-1")
    again = send(web, "push", payload, secret=WEBHOOK_SECRET, delivery="delivery-1")
    assert again.status_code == 202
    assert again.json()["build_id"] == first.json()["build_id"]
    assert again.json()["result"] == "duplicate"
    assert (stored_builds(settings), queued_jobs(settings)) == (1, 1)
    # Another delivery of the same event is a replay (tests/e2e/test_replays.py); another push
    # is a new build.
    newer = push_payload("octo/app", "b" * 40)
    other = send(web, "push", newer, secret=WEBHOOK_SECRET, delivery="delivery-2")
    assert other.json()["build_id"] != first.json()["build_id"]


@pytest.mark.parametrize(
    ("signature", "expected"),
    [("", 401), ("sha256=" + "0" * 64, 401), ("sha1=abc", 401), (None, 202)],
    ids=["missing", "wrong", "malformed", "valid"],
)
def test_signature_is_required(
    web: str, settings: Settings, signature: str | None, expected: int
) -> None:
    response = send(
        web, "push", push_payload("octo/app", SHA), secret=WEBHOOK_SECRET, signature=signature
    )
    assert response.status_code == expected
    assert queued_jobs(settings) == (1 if expected == 202 else 0)


def test_body_signed_with_another_secret_is_refused(web: str, settings: Settings) -> None:
    response = send(web, "push", push_payload("octo/app", SHA), secret="not-the-secret")
    assert response.status_code == 401
    assert (stored_builds(settings), queued_jobs(settings)) == (0, 0)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"payload=%7Bbroken", "application/x-www-form-urlencoded"),
        (b"nothing=here", "application/x-www-form-urlencoded"),
        (json.dumps({"ref": "refs/heads/main"}).encode(), "application/json"),
    ],
    ids=["bad-json", "not-an-object", "not-utf8", "bad-form-json", "form-no-payload", "no-fields"],
)
def test_malformed_body_is_400_and_nothing_queued(
    web: str, settings: Settings, body: bytes, content_type: str
) -> None:
    response = send(web, "push", body, secret=WEBHOOK_SECRET, content_type=content_type)
    assert response.status_code == 400
    assert "malformed payload" in response.json()["error"]
    assert (stored_builds(settings), queued_jobs(settings)) == (0, 0)


def test_oversized_body_is_413_and_nothing_queued(web: str, settings: Settings) -> None:
    payload = push_payload("octo/app", SHA)
    payload["padding"] = "x" * (25 * 1024 * 1024)
    response = send(web, "push", payload, secret=WEBHOOK_SECRET)
    assert response.status_code == 413
    assert (stored_builds(settings), queued_jobs(settings)) == (0, 0)


def test_ping_answers_200(web: str, settings: Settings) -> None:
    response = send(web, "ping", octokit("ping"), secret=WEBHOOK_SECRET)
    assert (response.status_code, response.json()["result"]) == (200, "pong")
    assert queued_jobs(settings) == 0


def test_a_closed_pull_request_builds_nothing_and_says_so(web: str, settings: Settings) -> None:
    response = send(web, "pull_request", octokit("pull_request_closed"), secret=WEBHOOK_SECRET)
    assert response.json() == {"result": "closed", "reason": "pull request closed"}
    assert (stored_builds(settings), queued_jobs(settings)) == (0, 0)


@pytest.mark.parametrize(
    ("event", "payload", "reason"),
    [
        ("push", octokit("push_tag"), "tag push: not built"),
        ("push", octokit("push_tag_deleted"), None),
        ("pull_request", {**octokit("pull_request_closed"), "action": "labeled"}, None),
        ("issues", {"action": "opened"}, "event 'issues' is not built"),
    ],
    ids=["tag", "tag-deleted", "pr-labeled", "other-event"],
)
def test_events_not_built_answer_with_the_reason(
    web: str, settings: Settings, event: str, payload: dict[str, Any], reason: str | None
) -> None:
    response = send(web, event, payload, secret=WEBHOOK_SECRET)
    assert response.status_code == 200
    assert response.json()["result"] == "ignored"
    if reason:
        assert response.json()["reason"] == reason
    assert (stored_builds(settings), queued_jobs(settings)) == (0, 0)


def test_redis_down_answers_503_then_recovers(settings: Settings, tmp_path: Any) -> None:
    from tingle.web.app import create_app

    private = RedisServer(tmp_path / "redis")
    private.start()
    local = Settings(**{**settings.__dict__, "redis_url": private.url})
    try:
        with serve_app(create_app(local)) as url:
            private.stop()
            down = send(url, "push", push_payload("octo/app", SHA), secret=WEBHOOK_SECRET)
            assert down.status_code == 503
            private.start()
            up = send(url, "push", push_payload("octo/app", SHA), secret=WEBHOOK_SECRET)
            assert up.status_code == 202
            assert queued_jobs(local) == 1
    finally:
        private.stop()


def test_the_build_info_schema_is_served_for_editors(web: str) -> None:
    import httpx

    from tingle.pipeline.schema import schema_json

    response = httpx.get(f"{web}/schema/build-info.v2.json", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/schema+json")
    assert response.json() == json.loads(schema_json())
    assert response.json()["properties"]["version"]


def test_metrics_count_webhooks_by_event_and_result(web: str) -> None:
    import httpx

    def count(event: str, result: str) -> float:
        text = httpx.get(f"{web}/metrics", timeout=10).text
        prefix = f'tingle_webhooks_total{{event="{event}",result="{result}"}} '
        return next((float(line.split()[-1]) for line in text.splitlines()
                     if line.startswith(prefix)), 0.0)  # fmt: skip

    queued, refused = count("push", "queued"), count("push", "bad_signature")
    send(web, "push", push_payload("octo/app", SHA), secret=WEBHOOK_SECRET)
    send(web, "push", push_payload("octo/app", SHA), secret="wrong")
    assert count("push", "queued") == queued + 1
    assert count("push", "bad_signature") == refused + 1
    assert "tingle_queue_depth" in httpx.get(f"{web}/metrics", timeout=10).text
