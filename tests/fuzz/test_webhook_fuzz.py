"""The webhook endpoint under hostile input, on the real web app over real HTTP (the `web`
fixture: uvicorn, starlette, a real Redis): arbitrary bodies, content types, signatures, events
and delivery ids. It never answers 500, and it makes a build only from a validly signed body of a
buildable event never seen before (checked in Redis after every case): a redelivery or a replay
of the same event answers `duplicate` and builds nothing."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import redis
from hypothesis import given, settings

from tests.fuzz.conftest import Tally
from tests.fuzz.webhook_cases import Case, cases
from tingle.builds.replays import event_key
from tingle.settings import Settings

PROFILE = settings.get_profile("fuzz-webhook")


@pytest.fixture
def client(web: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web, timeout=10) as http:
        yield http


def test_webhook_never_fails_and_never_builds_unsigned(
    client: httpx.Client, settings: Settings, tally: Tally
) -> None:
    store = redis.Redis.from_url(settings.redis_url)

    def state() -> tuple[int, object]:
        return int(store.zcard("tingle:builds")), store.get("tingle:build-seq")  # type: ignore[arg-type]

    @PROFILE
    @given(case=cases)
    def check(case: Case) -> None:
        tally("webhook endpoint (real HTTP)")
        trigger = case.trigger()
        fresh = (  # a delivery id and an event both never seen: a replay builds nothing either
            trigger is not None
            and not store.exists(f"tingle:delivery:{case.delivery}")
            and not store.exists(f"tingle:event:{event_key(trigger)}")
        )
        before = state()
        response = client.post("/webhooks/github", content=case.body, headers=case.headers())
        after = state()
        assert response.status_code < 500, response.text
        if case.signed:
            tally("webhook endpoint: of which validly signed")
        if not case.builds():
            assert after == before, f"state changed for an unbuildable case: {response.text}"
        elif fresh:
            assert response.status_code == 202, response.text
            assert after[0] == before[0] + 1
            tally("webhook endpoint: of which built")
        else:  # a delivery id or an event seen before: the same build, nothing new
            assert response.json()["result"] == "duplicate", response.text
            assert after[0] == before[0]

    check()
