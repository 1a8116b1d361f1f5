"""Issue 13, item 9: sign-in is rate limited, and sessions are random, kept in Redis, revocable.

Before the fix every wrong token answered 401 however many came (the sixth was not 429), the
cookie was a constant HMAC of the admin token (two sign-ins got the same cookie) and signing out
only asked the browser to forget it (a copy still worked): each test below failed then."""

from __future__ import annotations

import dataclasses
import time
from typing import cast

import httpx
import pytest
import redis

from tests.web.records import Records, make_build
from tingle.settings import Settings
from tingle.web.auth import SESSION_COOKIE

WINDOW = 3  # seconds: long enough to see the refusal, short enough to wait out


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, signin_window_seconds=WINDOW)


def sign_in(web: str, token: str) -> httpx.Response:
    return httpx.post(f"{web}/signin", data={"token": token, "next": "/"}, timeout=10)


@pytest.mark.protected
def test_the_sixth_wrong_token_is_refused_and_then_the_right_one_until_the_window_passes(
    web: str, admin_token: str
) -> None:
    started = time.monotonic()
    answers = [sign_in(web, f"guess-{i}").status_code for i in range(6)]
    assert answers == [401] * 5 + [429]
    right = sign_in(web, admin_token)
    assert right.status_code == 429 and SESSION_COOKIE not in right.headers.get("set-cookie", "")
    assert 1 <= int(right.headers["retry-after"]) <= WINDOW
    # The API's bearer token is a sign-in too: no guessing there instead.
    api = httpx.get(f"{web}/api/repos", headers={"Authorization": "Bearer x"}, timeout=10)
    assert api.status_code == 429 and "retry-after" in api.headers
    assert time.monotonic() - started < WINDOW  # all of that within one window

    time.sleep(WINDOW + 0.5)

    assert sign_in(web, admin_token).status_code == 303


@pytest.mark.protected
def test_a_cookie_copied_before_sign_out_is_refused_after_it(
    web: str, records: Records, settings: Settings, admin_token: str
) -> None:
    records.save(make_build("801"))
    first, second = sign_in(web, admin_token), sign_in(web, admin_token)
    cookie = first.cookies[SESSION_COOKIE]
    assert cookie != second.cookies[SESSION_COOKIE]  # random, not derived from the token
    assert admin_token not in cookie
    header = first.headers["set-cookie"]
    assert "HttpOnly" in header and "SameSite=lax" in header and "Secure" not in header  # http
    client = redis.Redis.from_url(settings.redis_url)
    stored = cast(list[bytes], client.keys(f"{settings.key_prefix}:session:*"))
    assert len(stored) == 2 and not [k for k in stored if cookie.encode() in k]  # hashed
    copied = {SESSION_COOKIE: cookie}
    with httpx.Client(base_url=web, cookies=copied, timeout=10) as browser:
        assert browser.get("/builds/801").status_code == 200
        assert browser.post("/signout", headers={"Origin": web}).status_code == 303

    with httpx.Client(base_url=web, cookies=copied, timeout=10) as thief:
        page = thief.get("/builds/801")
        assert page.status_code == 303 and page.headers["location"].startswith("/signin")
        assert thief.get("/api/builds/801").status_code == 401
        assert thief.post("/api/builds/801/cancel", headers={"Origin": web}).status_code == 401
    assert records.run(lambda store: store.cancel_request("801")) is None
    other = {SESSION_COOKIE: second.cookies[SESSION_COOKIE]}  # the other session lives on
    assert httpx.get(f"{web}/builds/801", cookies=other, timeout=10).status_code == 200
