"""Who may read and act: the admin token (bearer or signed-in cookie), protected reading, cancel
and restart through tingle.builds.control, cross-site refusal, and no secret on any page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from secrets import token_urlsafe

import httpx
import pytest
import redis

from tests.conftest import WEBHOOK_SECRET
from tests.web.records import Records, make_build
from tingle.build import BuildState, StepState
from tingle.settings import Settings
from tingle.web.auth import SESSION_COOKIE


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def signed_in(web: str, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web, timeout=10) as client:
        response = client.post("/signin", data={"token": token, "next": "/builds/601"})
        assert response.status_code == 303 and response.headers["location"] == "/builds/601"
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and token not in cookie
        yield client


def test_without_a_token_nobody_can_act(web: str, records: Records) -> None:
    records.save(make_build("601"))
    assert httpx.post(f"{web}/api/builds/601/cancel", timeout=10).status_code == 401
    guess = {"Authorization": "Bearer x"}
    assert httpx.post(f"{web}/api/builds/601/cancel", headers=guess, timeout=10).status_code == 401
    page = httpx.post(f"{web}/builds/601/cancel", timeout=10)
    assert page.status_code == 303 and page.headers["location"].startswith("/signin")
    assert "No admin token is configured" in httpx.get(f"{web}/signin", timeout=10).text
    assert "Cancel build" not in httpx.get(f"{web}/builds/601", timeout=10).text


def test_api_cancel_with_the_bearer_token(web: str, records: Records, admin_token: str) -> None:
    records.save(make_build("601"))
    wrong = httpx.post(f"{web}/api/builds/601/cancel", headers=bearer("nope"), timeout=10)
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
    response = httpx.post(f"{web}/api/builds/601/cancel", headers=bearer(admin_token), timeout=10)
    assert response.json() == {"build_id": "601", "cancelled": True}
    request = records.run(lambda store: store.cancel_request("601"))
    assert request is not None  # the worker running it sees this and stops the build
    again = httpx.post(f"{web}/api/builds/601/cancel", headers=bearer(admin_token), timeout=10)
    assert again.json()["cancelled"] is False


def test_cancelling_a_queued_build_ends_it(
    web: str, records: Records, admin_token: str, fake_github: object
) -> None:
    records.save(make_build("602", state=BuildState.QUEUED, steps=()))
    httpx.post(f"{web}/api/builds/602/cancel", headers=bearer(admin_token), timeout=10)
    assert records.get("602").state is BuildState.CANCELLED


def test_api_restart_queues_the_same_commit(
    web: str, records: Records, settings: Settings, admin_token: str, fake_github: object
) -> None:
    old = records.save(
        make_build("603", state=BuildState.FAILURE, steps=(("t", StepState.FAILURE),))
    )
    response = httpx.post(f"{web}/api/builds/603/restart", headers=bearer(admin_token), timeout=10)
    assert response.status_code == 201
    new_id = response.json()["build_id"]
    assert new_id != "603" and response.json()["url"] == f"http://tingle.test/builds/{new_id}"
    new = records.get(new_id)
    assert (new.sha, new.repo, new.state, new.steps) == (old.sha, old.repo, BuildState.QUEUED, [])
    assert redis.Redis.from_url(settings.redis_url).zcard(settings.queue_name) == 1
    missing = httpx.post(f"{web}/api/builds/nope/restart", headers=bearer(admin_token), timeout=10)
    assert missing.status_code == 404


def test_sign_in_then_cancel_and_restart_from_the_page(
    web: str, records: Records, admin_token: str, fake_github: object
) -> None:
    records.save(make_build("601"))
    wrong = httpx.post(f"{web}/signin", data={"token": "guess", "next": "/"}, timeout=10)
    assert wrong.status_code == 401 and "not the admin token" in wrong.text
    with signed_in(web, admin_token) as client:
        page = client.get("/builds/601").text
        assert "Cancel build" in page and "Sign out" in page
        cancelled = client.post("/builds/601/cancel", headers={"Origin": web})
        assert cancelled.status_code == 303
        assert cancelled.headers["location"] == "/builds/601?notice=cancel-requested"
        assert "Cancel requested" in client.get(cancelled.headers["location"]).text
        records.finish("601", BuildState.CANCELLED, StepState.CANCELLED)
        restarted = client.post("/builds/601/restart", headers={"Origin": web})
        assert restarted.status_code == 303
        assert restarted.headers["location"].endswith("?notice=restarted")


def test_a_cookie_cannot_act_from_another_site(
    web: str, records: Records, admin_token: str
) -> None:
    records.save(make_build("601"))
    with signed_in(web, admin_token) as client:
        evil = client.post("/builds/601/cancel", headers={"Origin": "https://evil.example"})
        assert evil.status_code == 403
        cross = client.post("/api/builds/601/cancel", headers={"Sec-Fetch-Site": "cross-site"})
        assert cross.status_code == 403
    assert records.run(lambda store: store.cancel_request("601")) is None


def test_next_after_sign_in_stays_on_this_site(web: str, admin_token: str) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = httpx.post(
            f"{web}/signin", data={"token": admin_token, "next": target}, timeout=10
        )
        assert response.headers["location"] == "/"


@pytest.mark.protected
def test_protected_reading(web: str, records: Records, admin_token: str) -> None:
    records.save(make_build("604"))
    records.append("604", 0, ["secret-free line"])
    page = httpx.get(f"{web}/builds/604", timeout=10)
    assert page.status_code == 303 and page.headers["location"] == "/signin?next=%2Fbuilds%2F604"
    for path in (
        "/api/builds/604",
        "/api/builds/604/steps/0/log",
        "/api/builds/604/steps/0/events",
        "/api/repos",
        "/badge/octo/app.svg",
    ):
        assert httpx.get(f"{web}{path}", timeout=10).status_code == 401, path
        # (streamed: the event stream of a running step stays open)
        with httpx.stream("GET", f"{web}{path}", headers=bearer(admin_token), timeout=10) as ok:
            assert ok.status_code == 200, path
    assert httpx.get(f"{web}/healthz", timeout=10).status_code == 200
    assert httpx.get(f"{web}/signin", timeout=10).status_code == 200
    with signed_in(web, admin_token) as client:
        assert client.get("/builds/604").status_code == 200
    forged = {SESSION_COOKIE: token_urlsafe(32)}  # no such session
    with httpx.Client(base_url=web, cookies=forged, timeout=10) as client:
        assert client.get("/builds/604").status_code == 303


def test_no_setting_is_ever_on_a_page(
    web: str, records: Records, settings: Settings, admin_token: str
) -> None:
    records.save(make_build("605"))
    records.append("605", 0, ["building"])
    secrets = [WEBHOOK_SECRET, settings.github_token, admin_token, settings.redis_url]
    with signed_in(web, admin_token) as client:
        for path in (
            "/",
            "/repos/octo/app",
            "/builds/605",
            "/signin",
            "/api/repos",
            "/api/builds/605",
            "/api/builds/605/steps",
            "/api/builds/605/steps/0/log?format=json",
            "/badge/octo/app.svg",
        ):
            body = client.get(path).text
            assert not [s for s in secrets if s in body], path
