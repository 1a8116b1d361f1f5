"""`tingle reconcile`: redeliver the webhook deliveries that never reached Tingle (see
tingle.forge.reconcile). Run it from cron every few minutes, or by hand after an outage:

    tingle reconcile --repo acme/widgets --hook-id 123456 [--since HOURS] [--dry-run]
    tingle reconcile --app [--since HOURS] [--dry-run]

A repository's hook is read with TINGLE_GITHUB_TOKEN, or else with an installation token of the
App (TINGLE_GITHUB_APP_ID and TINGLE_GITHUB_APP_PRIVATE_KEY); the App's own hook only with the
App's JWT. Exit code 0 when the run did what it had to, 1 when GitHub or Redis failed it, 2 when it
is not configured to run.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from datetime import timedelta
from typing import Any

import httpx
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tingle.forge.auth import GitHubApp
from tingle.forge.github import GitHubError
from tingle.forge.reconcile import (
    APP_HOOK,
    Authorization,
    Delivery,
    Hook,
    HookDeliveries,
    Reconciler,
    Report,
)
from tingle.settings import Settings
from tingle.store import BuildStore

_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_HEADERS = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
    "User-Agent": "Tingle",
}


class NotConfigured(Exception):
    pass


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "reconcile",
        help="redeliver webhook deliveries that failed while Tingle was unreachable",
        description="Ask GitHub for a hook's recent deliveries and redeliver, once, each one "
        "that failed and that Tingle has no record of (GitHub never retries by itself). Needs "
        "TINGLE_GITHUB_TOKEN (a repository hook) or the GitHub App's settings (--app).",
    )
    hook = parser.add_mutually_exclusive_group(required=True)
    hook.add_argument("--repo", metavar="OWNER/NAME", help="a repository's hook (with --hook-id)")
    hook.add_argument("--app", action="store_true", help="the GitHub App's hook")
    parser.add_argument("--hook-id", type=int, metavar="N", help="the repository hook's id")
    parser.add_argument(
        "--since", type=float, default=72.0, metavar="HOURS", help="look back (default 72)"
    )
    parser.add_argument("--dry-run", action="store_true", help="say what would be redelivered")
    parser.set_defaults(func=_reconcile)


def _reconcile(args: argparse.Namespace) -> int:
    if args.repo is not None and (args.hook_id is None or not _REPO.fullmatch(args.repo)):
        print("--repo needs OWNER/NAME and --hook-id N", file=sys.stderr)
        return 2
    if not args.since > 0:
        print("--since needs a positive number of hours", file=sys.stderr)
        return 2
    hook = APP_HOOK if args.app else Hook.repository(args.repo, args.hook_id)
    try:
        report = asyncio.run(run(Settings.from_env(), hook, args.since, dry_run=args.dry_run))
    except NotConfigured as exc:
        print(exc, file=sys.stderr)
        return 2
    except GitHubError as exc:
        wait = f" (try again in {exc.retry_after:.0f} s)" if exc.retry_after is not None else ""
        print(f"reconcile failed: {exc}{wait}", file=sys.stderr)
        return 1
    except (RedisError, OSError) as exc:
        print(f"reconcile failed: Redis unavailable: {exc}", file=sys.stderr)
        return 1
    print("\n".join(describe(report, dry_run=args.dry_run)))
    return 1 if report.errors else 0


def describe(report: Report, *, dry_run: bool) -> list[str]:
    verb = "would redeliver" if dry_run else "redelivered"
    done = [f"{verb} {_delivery(d)}" for d in report.redelivered]
    return [*done, *(f"error: {e}" for e in report.errors), (
        f"{report.hook}: {report.attempts} attempts of {report.guids} deliveries; "
        f"{report.delivered} delivered, {report.recorded} already recorded by Tingle, "
        f"{report.redelivered_before} redelivered before, {len(done)} {verb} now"
    )]  # fmt: skip


def _delivery(delivery: Delivery) -> str:
    event = ".".join(filter(None, (delivery.event, delivery.action)))
    answer = delivery.status_code or "no answer"
    return f"{delivery.guid} ({event}; last attempt {delivery.delivered_at:%F %TZ}: {answer})"


async def run(
    settings: Settings, hook: Hook, since_hours: float = 72.0, *, dry_run: bool = False
) -> Report:
    app = _app(settings)
    redis = aioredis.Redis.from_url(settings.redis_url, socket_connect_timeout=5)
    try:
        async with httpx.AsyncClient(
            base_url=settings.github_api_url, headers=_HEADERS, timeout=30.0
        ) as http:
            authorization = await _authorization(settings, app, hook, http)
            reconciler = Reconciler(
                HookDeliveries(http, hook, authorization),
                BuildStore(redis, settings.key_prefix),
                window=timedelta(hours=since_hours),
                dry_run=dry_run,
            )
            return await reconciler.run()
    finally:
        await redis.aclose()
        if app is not None:
            app.close()


def _app(settings: Settings) -> GitHubApp | None:
    if not (settings.github_app_id and settings.github_app_private_key):
        return None
    try:
        return GitHubApp(
            app_id=settings.github_app_id,
            private_key=settings.github_app_private_key,
            base_url=settings.github_api_url,
        )
    except ValueError as exc:
        raise NotConfigured(f"TINGLE_GITHUB_APP_PRIVATE_KEY is not usable: {exc}") from exc


async def _authorization(
    settings: Settings, app: GitHubApp | None, hook: Hook, http: httpx.AsyncClient
) -> Authorization:
    if hook == APP_HOOK or not settings.github_token:
        if app is None:
            needs = "the App's hook" if hook == APP_HOOK else "a repository's hook without a token"
            raise NotConfigured(
                f"{needs} needs TINGLE_GITHUB_APP_ID and TINGLE_GITHUB_APP_PRIVATE_KEY"
            )

        async def jwt() -> str:
            return f"Bearer {app.jwt()}"

        if hook == APP_HOOK:
            return jwt
        installation = await _installation_id(http, hook, jwt)

        async def installation_token() -> str:  # cached and renewed by GitHubApp
            return f"Bearer {await asyncio.to_thread(app.token, installation)}"

        return installation_token

    token = settings.github_token

    async def personal() -> str:
        return f"Bearer {token}"

    return personal


async def _installation_id(http: httpx.AsyncClient, hook: Hook, jwt: Authorization) -> int:
    """The App installation that covers the hook's repository."""
    repo_path = hook.path.rsplit("/hooks/", 1)[0]
    try:
        response = await http.get(
            f"{repo_path}/installation", headers={"Authorization": await jwt()}
        )
    except httpx.HTTPError as exc:
        raise GitHubError(f"no answer from GitHub at {http.base_url}: {exc}") from exc
    if not response.is_success:
        what = f"GET {repo_path}/installation"
        raise GitHubError.answered(
            what, response.status_code, response.headers, response.text[:200]
        )
    try:
        return int(response.json()["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise GitHubError(f"GitHub named no installation for {repo_path}: {exc}") from exc
