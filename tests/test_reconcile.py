"""The redelivery reconciler against the fake GitHub (which really re-sends what it redelivers),
the real web app on real HTTP, and a real Redis: deliveries lost while Tingle was down come back,
each event builds once, and nothing is redelivered twice."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any, cast

import httpx
import pytest
import redis
from redis.asyncio import Redis

from testing.fakes.github import FakeGitHub, HookDelivery, HookKey
from testing.payloads import pull_request_payload, push_payload, send
from testing.servers import free_port
from tests.conftest import WEBHOOK_SECRET
from tests.fakes.fixtures import FakeApp
from tingle.cli import main
from tingle.cli.reconcile_command import run
from tingle.forge.reconcile import Delivery, Hook, HookDeliveries, Reconciler, Report
from tingle.settings import Settings
from tingle.store import BuildStore

REPO = "octo/app"
HOOK_ID = 7
REPO_HOOK: HookKey = (REPO, HOOK_ID)
HOOK = Hook.repository(REPO, HOOK_ID)
ATTEMPTS = f"/repos/{REPO}/hooks/{HOOK_ID}/deliveries/*/attempts"


def sha(n: int) -> str:
    return f"{n + 0xC0FFEE:040x}"  # never all zeros, which is a deleted branch


def closed_url() -> str:
    """An address nothing listens on: Tingle while it is down."""
    return f"http://127.0.0.1:{free_port()}/webhooks/github"


def reconcile(settings: Settings, hook: Hook = HOOK, **kwargs: Any) -> Report:
    return asyncio.run(run(settings, hook, kwargs.pop("since", 72.0), **kwargs))


@contextlib.asynccontextmanager
async def reconciler(settings: Settings, hook: Hook = HOOK) -> AsyncIterator[Reconciler]:
    """A reconciler with connections of its own, as in another process."""

    async def token() -> str:
        return f"Bearer {settings.github_token}"

    async with httpx.AsyncClient(base_url=settings.github_api_url) as http:
        client = Redis.from_url(settings.redis_url)
        try:
            deliveries = HookDeliveries(http, hook, token, backoff=0.0)
            yield Reconciler(deliveries, BuildStore(client, settings.key_prefix))
        finally:
            await client.aclose()


def builds_by_delivery(settings: Settings) -> dict[str, list[str]]:
    """Every build record in Redis, grouped by the delivery it was made for."""
    client = redis.Redis.from_url(settings.redis_url)
    found: dict[str, list[str]] = {}
    ids = cast(list[bytes], client.zrange("tingle:builds", 0, -1))
    for build_id in ids:
        record = json.loads(cast(bytes, client.get(f"tingle:build:{build_id.decode()}")))
        found.setdefault(record["delivery_id"], []).append(record["id"])
    return found


def guids(deliveries: Iterable[HookDelivery | Delivery]) -> set[str]:
    return {d.guid for d in deliveries}


def test_deliveries_lost_while_tingle_was_down_build_once_after_one_run(
    web: str, settings: Settings, fake_github: FakeGitHub
) -> None:
    fake_github.set_hook_target(closed_url(), WEBHOOK_SECRET, REPO_HOOK)  # Tingle is down
    refused = [
        fake_github.deliver("push", push_payload(REPO, sha(n)), hook=REPO_HOOK) for n in range(3)
    ]
    assert [d.status_code for d in refused] == [0, 0, 0]  # really refused: nothing listened
    proxied = fake_github.add_delivery(  # a proxy in front of Tingle answered for it
        "pr-guid", "pull_request", 502, pull_request_payload(REPO, sha(9)), hook=REPO_HOOK
    )
    # Failed, then redelivered by hand successfully: delivered, whatever Tingle recorded.
    fake_github.add_delivery("by-hand", "push", 502, push_payload(REPO, sha(8)), hook=REPO_HOOK)
    fake_github.add_delivery("by-hand", "push", 202, push_payload(REPO, sha(8)), hook=REPO_HOOK)
    fake_github.set_hook_target(f"{web}/webhooks/github", WEBHOOK_SECRET, REPO_HOOK)  # it is back
    delivered = [
        fake_github.deliver("push", push_payload(REPO, sha(n)), hook=REPO_HOOK)
        for n in range(10, 12)
    ] + [fake_github.deliver("ping", {"zen": "Keep it logically awesome."}, hook=REPO_HOOK)]
    assert [d.status_code for d in delivered] == [202, 202, 200]
    lost = guids([*refused, proxied])

    first = reconcile(settings)
    fake_github.wait_for_redeliveries()

    assert guids(first.redelivered) == lost
    assert (first.guids, first.delivered, first.recorded, first.errors) == (8, 4, 0, [])
    assert len(fake_github.requests_to("POST", ATTEMPTS)) == 4
    redeliveries = [d for d in fake_github.hook_deliveries(REPO_HOOK) if d.redelivery]
    assert guids(redeliveries) == lost
    assert {d.status_code for d in redeliveries} == {202}  # signed with the hook's secret
    builds = builds_by_delivery(settings)
    assert set(builds) == lost | guids(delivered[:2])  # the ping and "by-hand" build nothing
    assert all(len(ids) == 1 for ids in builds.values())  # one build per delivery
    assert redis.Redis.from_url(settings.redis_url).zcard(settings.queue_name) == 6
    ttl = cast(
        int, redis.Redis.from_url(settings.redis_url).ttl(f"tingle:redelivered:{refused[0].guid}")
    )
    assert 3 * 24 * 3600 - 60 < ttl <= 3 * 24 * 3600

    second = reconcile(settings)
    assert (second.redelivered, second.delivered, second.guids) == ([], 8, 8)
    assert len(fake_github.requests_to("POST", ATTEMPTS)) == 4  # nothing more asked of GitHub
    assert builds_by_delivery(settings) == builds


def test_two_reconcilers_racing_redeliver_each_event_once(
    web: str, settings: Settings, fake_github: FakeGitHub
) -> None:
    fake_github.set_hook_target(closed_url(), WEBHOOK_SECRET, REPO_HOOK)
    lost = {
        fake_github.deliver("push", push_payload(REPO, sha(n)), hook=REPO_HOOK).guid
        for n in range(12)
    }
    fake_github.set_hook_target(f"{web}/webhooks/github", WEBHOOK_SECRET, REPO_HOOK)

    async def race() -> tuple[Report, Report]:
        async with reconciler(settings) as one, reconciler(settings) as other:
            reports = Report(HOOK.label), Report(HOOK.label)
            # Both list before either redelivers: each believes all twelve are its to send.
            todo = [await one.candidates(reports[0]), await other.candidates(reports[1])]
            assert guids(todo[0]) == guids(todo[1]) == lost
            await asyncio.gather(
                one.redeliver(reports[0], todo[0]), other.redeliver(reports[1], todo[1])
            )
            return reports

    first, second = asyncio.run(race())
    fake_github.wait_for_redeliveries()

    assert guids(first.redelivered) | guids(second.redelivered) == lost
    assert not guids(first.redelivered) & guids(second.redelivered)
    assert first.redelivered_before + second.redelivered_before == 12
    posted = [r.path for r in fake_github.requests_to("POST", ATTEMPTS)]
    assert len(posted) == len(set(posted)) == 12
    builds = builds_by_delivery(settings)
    assert set(builds) == lost
    assert all(len(ids) == 1 for ids in builds.values())


def test_app_hook_through_the_cli_with_the_apps_jwt(
    web: str,
    settings: Settings,
    fake_github: FakeGitHub,
    github_app: FakeApp,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in {
        "REDIS_URL": settings.redis_url,
        "GITHUB_API_URL": fake_github.base_url,
        "GITHUB_APP_ID": str(github_app.app_id),
        "GITHUB_APP_PRIVATE_KEY": github_app.private_key,
    }.items():
        monkeypatch.setenv(f"TINGLE_{name}", value)
    fake_github.set_hook_target(closed_url(), WEBHOOK_SECRET)
    lost = fake_github.deliver("push", push_payload(REPO, sha(1)))
    fake_github.set_hook_target(f"{web}/webhooks/github", WEBHOOK_SECRET)

    assert main(["reconcile", "--app", "--dry-run"]) == 0
    assert f"would redeliver {lost.guid} (push; last attempt" in capsys.readouterr().out
    assert fake_github.requests_to("POST", "/app/hook/deliveries/*/attempts") == []

    assert main(["reconcile", "--app"]) == 0
    fake_github.wait_for_redeliveries()
    out = capsys.readouterr().out
    assert f"redelivered {lost.guid} (push; last attempt" in out
    assert "the GitHub App's hook: 1 attempts of 1 deliveries; 0 delivered" in out
    assert (
        fake_github.requests_to("GET", "/app/hook/deliveries")[0]
        .headers["authorization"]
        .startswith("Bearer ey")
    )  # a JWT, not an installation token
    assert set(builds_by_delivery(settings)) == {lost.guid}

    assert main(["reconcile", "--app"]) == 0
    assert "0 redelivered now" in capsys.readouterr().out


def test_a_repository_hook_with_only_an_app_uses_the_installation_token(
    web: str, settings: Settings, fake_github: FakeGitHub, github_app: FakeApp
) -> None:
    app_only = dataclasses.replace(
        settings,
        github_token="",
        github_app_id=str(github_app.app_id),
        github_app_private_key=github_app.private_key,
    )
    fake_github.set_hook_target(f"{web}/webhooks/github", WEBHOOK_SECRET, REPO_HOOK)
    lost = fake_github.add_delivery("g-1", "push", 0, push_payload(REPO, sha(1)), hook=REPO_HOOK)

    report = reconcile(app_only)
    fake_github.wait_for_redeliveries()

    assert guids(report.redelivered) == {lost.guid}
    tokens = fake_github.installation_tokens
    assert [t.installation_id for t in tokens] == [github_app.installation_id]
    listing = fake_github.requests_to("GET", f"/repos/{REPO}/hooks/{HOOK_ID}/deliveries")[0]
    assert listing.headers["authorization"] == f"Bearer {tokens[0].token}"
    assert set(builds_by_delivery(settings)) == {"g-1"}


def test_a_delivery_tingle_recorded_is_never_redelivered(
    web: str, settings: Settings, fake_github: FakeGitHub
) -> None:
    # Tingle took it, but GitHub gave up waiting (or a proxy lost the answer): it shows failed.
    payload = push_payload(REPO, sha(1))
    assert send(web, "push", payload, secret=WEBHOOK_SECRET, delivery="late").status_code == 202
    fake_github.add_delivery("late", "push", 0, payload, hook=REPO_HOOK)

    report = reconcile(settings)

    assert (report.recorded, report.redelivered) == (1, [])
    assert fake_github.requests_to("POST", ATTEMPTS) == []


def test_an_event_that_fails_again_is_redelivered_only_once(
    settings: Settings, fake_github: FakeGitHub
) -> None:
    fake_github.set_hook_target(closed_url(), WEBHOOK_SECRET, REPO_HOOK)  # down for good
    lost = fake_github.deliver("push", push_payload(REPO, sha(1)), hook=REPO_HOOK)

    assert guids(reconcile(settings).redelivered) == {lost.guid}
    fake_github.wait_for_redeliveries()
    assert [d.status_code for d in fake_github.hook_deliveries(REPO_HOOK)] == [0, 0]

    again = reconcile(settings)
    assert (again.redelivered, again.redelivered_before) == ([], 1)
    assert len(fake_github.requests_to("POST", ATTEMPTS)) == 1


def test_only_the_window_is_looked_at_and_every_page_of_it(
    settings: Settings, fake_github: FakeGitHub
) -> None:
    day = 24 * 3600
    fake_github.add_delivery("too-old", "push", 502, b"{}", hook=REPO_HOOK, age=3 * day + 60)
    fake_github.add_delivery("yesterday", "push", 502, b"{}", hook=REPO_HOOK, age=day)
    for n in range(130):  # newer than "yesterday": it is on the second page
        fake_github.add_delivery(f"ok-{n}", "push", 202, b"{}", hook=REPO_HOOK, age=3600 - n)

    recent = reconcile(settings, since=2.0, dry_run=True)
    assert (recent.guids, recent.redelivered) == (130, [])

    report = reconcile(settings)
    assert [d.guid for d in report.redelivered] == ["yesterday"]
    listings = fake_github.requests_to("GET", f"/repos/{REPO}/hooks/{HOOK_ID}/deliveries")
    assert [("cursor=" in r.query, "per_page=100" in r.query) for r in listings[-2:]] == [
        (False, True),
        (True, True),
    ]


def test_github_enterprise_base_url(settings: Settings, fake_github: FakeGitHub) -> None:
    enterprise = dataclasses.replace(settings, github_api_url=f"{fake_github.base_url}/api/v3")
    fake_github.add_delivery("g-1", "push", 502, b"{}", hook=REPO_HOOK)
    assert guids(reconcile(enterprise).redelivered) == {"g-1"}
    assert fake_github.requests_to("POST", f"/api/v3{ATTEMPTS}")


def test_a_5xx_listing_is_asked_again(settings: Settings, fake_github: FakeGitHub) -> None:
    fake_github.add_delivery("g-1", "push", 502, b"{}", hook=REPO_HOOK)
    fake_github.fail_next(2, 502, method="GET")

    async def once() -> Report:
        async with reconciler(settings) as r:
            return await r.run()

    assert guids(asyncio.run(once()).redelivered) == {"g-1"}


def test_rate_limited_listing_fails_the_run_with_a_clear_message(
    settings: Settings,
    fake_github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in {
        "REDIS_URL": settings.redis_url,
        "GITHUB_API_URL": fake_github.base_url,
        "GITHUB_TOKEN": "test-token",
    }.items():
        monkeypatch.setenv(f"TINGLE_{name}", value)
    fake_github.rate_limit_remaining = 0

    assert main(["reconcile", "--repo", REPO, "--hook-id", str(HOOK_ID)]) == 1
    err = capsys.readouterr().err
    assert "GitHub answered 403" in err
    assert "API rate limit exceeded" in err
    assert "try again in" in err


def test_a_refused_redelivery_is_released_for_the_next_run(
    settings: Settings, fake_github: FakeGitHub
) -> None:
    fake_github.add_delivery("g-1", "push", 502, b"{}", hook=REPO_HOOK)
    fake_github.add_delivery("g-2", "push", 502, b"{}", hook=REPO_HOOK)
    fake_github.fail_next(1, 422, method="POST", body={"message": "Validation Failed"})

    first = reconcile(settings)
    assert guids(first.redelivered) == {"g-2"}
    assert first.errors == [
        "g-1: GitHub answered 422 to POST "
        f"/repos/{REPO}/hooks/{HOOK_ID}/deliveries/{fake_github.hook_deliveries(REPO_HOOK)[0].id}"
        f"/attempts (hook {HOOK_ID} of {REPO}): Validation Failed"
    ]
    assert guids(reconcile(settings).redelivered) == {"g-1"}


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reconcile", "--repo", REPO]) == 2
    assert main(["reconcile", "--repo", "not a repo", "--hook-id", "1"]) == 2
    assert main(["reconcile", "--app", "--since", "0"]) == 2
    assert "--repo needs OWNER/NAME and --hook-id N" in capsys.readouterr().err


def test_the_app_hook_needs_the_app(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TINGLE_REDIS_URL", settings.redis_url)
    monkeypatch.delenv("TINGLE_GITHUB_APP_ID", raising=False)
    assert main(["reconcile", "--app"]) == 2
    assert "needs TINGLE_GITHUB_APP_ID" in capsys.readouterr().err
