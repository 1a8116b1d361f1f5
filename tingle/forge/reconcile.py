"""Redeliver the webhook deliveries that never reached Tingle: GitHub never retries by itself.

A run lists the last days' deliveries of one hook (a repository's, or the GitHub App's), groups the
attempts by guid (the `X-GitHub-Delivery` kept on redelivery), and asks GitHub to redeliver each
event that no attempt delivered (no 2xx) and that Tingle has no record of (`delivery:{guid}`, see
tingle.builds.admission). At most once: `redelivered:{guid}` is set with NX before the POST, so
two reconcilers never both send it, and an event that fails again is left to a person, not looped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import httpx

from tingle.forge.github import GitHubError
from tingle.store import BuildStore

WINDOW: Final = timedelta(days=3)  # how long GitHub keeps deliveries and lets them be redelivered
TTL: Final = 3 * 24 * 3600  # seconds `redelivered:{guid}` is kept: as long as GitHub keeps it
PER_PAGE: Final = 100  # GitHub's maximum
MAX_PAGES: Final = 100  # a bound, should a cursor never end
GET_ATTEMPTS: Final = 3  # a listing is safe to ask for again after a 5xx; a redelivery is not

Authorization = Callable[[], Awaitable[str]]  # the `Authorization` header for the next request


@dataclass(frozen=True)
class Hook:
    path: str  # API path of the hook: /repos/{o}/{r}/hooks/{id} or /app/hook
    label: str

    @classmethod
    def repository(cls, repo: str, hook_id: int) -> Hook:
        return cls(f"/repos/{repo}/hooks/{hook_id}", f"hook {hook_id} of {repo}")


APP_HOOK: Final = Hook("/app/hook", "the GitHub App's hook")


@dataclass(frozen=True)
class Delivery:  # one attempt at delivering an event, as GitHub lists it
    id: int
    guid: str  # the X-GitHub-Delivery header, shared by an event's attempts
    delivered_at: datetime
    redelivery: bool
    status_code: int  # 0 when GitHub got no answer at all
    event: str
    action: str | None

    @property
    def delivered(self) -> bool:
        return 200 <= self.status_code < 300

    @classmethod
    def from_json(cls, data: Any) -> Delivery:
        try:
            when = datetime.fromisoformat(data["delivered_at"]).astimezone(UTC)
            action = None if data.get("action") is None else str(data["action"])
            return cls(
                int(data["id"]), str(data["guid"]), when, bool(data.get("redelivery")),
                int(data.get("status_code") or 0), str(data.get("event") or ""), action,
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise GitHubError(f"GitHub listed an unreadable delivery: {data!r:.200}") from exc


@dataclass
class Report:
    hook: str
    attempts: int = 0  # delivery attempts listed in the window
    guids: int = 0  # distinct events among them
    delivered: int = 0  # events some attempt delivered
    recorded: int = 0  # failed in GitHub's eyes, yet Tingle has them (it answered too late)
    redelivered_before: int = 0  # redelivered once already, by this or another reconciler
    redelivered: list[Delivery] = field(default_factory=list)  # (or would be, in a dry run)
    errors: list[str] = field(default_factory=list)


def undelivered(attempts: Iterable[Delivery]) -> list[Delivery]:
    """The latest attempt of each event (guid) that no attempt delivered, oldest event first."""
    by_guid: dict[str, list[Delivery]] = {}
    for attempt in sorted(attempts, key=lambda d: (d.delivered_at, d.id)):
        by_guid.setdefault(attempt.guid, []).append(attempt)
    return [tries[-1] for tries in by_guid.values() if not any(d.delivered for d in tries)]


class HookDeliveries:
    """GitHub's deliveries API for one hook, over httpx (base URL: the API root, GHE included)."""

    def __init__(
        self, http: httpx.AsyncClient, hook: Hook, auth: Authorization, *, backoff: float = 1.0
    ) -> None:
        self.http, self.hook, self._auth, self._backoff = http, hook, auth, backoff

    async def recent(self, since: datetime) -> list[Delivery]:
        """Attempts made since `since`, newest first, across as many pages as that takes."""
        found: list[Delivery] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            params = {"per_page": str(PER_PAGE)} | ({"cursor": cursor} if cursor else {})
            response = await self._call("GET", f"{self.hook.path}/deliveries", params)
            data = _body(response)
            if not isinstance(data, list):
                raise GitHubError(f"GitHub's list of deliveries is not a list: {data!r:.200}")
            page = [Delivery.from_json(item) for item in data]
            found.extend(d for d in page if d.delivered_at >= since)
            cursor = _next_cursor(response)
            if cursor is None or not page or min(d.delivered_at for d in page) < since:
                break
        return found

    async def redeliver(self, delivery_id: int) -> None:
        await self._call("POST", f"{self.hook.path}/deliveries/{delivery_id}/attempts", {})

    async def _call(self, method: str, path: str, params: dict[str, str]) -> httpx.Response:
        for attempt in range(1, GET_ATTEMPTS + 1):
            headers = {"Authorization": await self._auth()}
            try:
                response = await self.http.request(method, path, params=params, headers=headers)
            except httpx.HTTPError as exc:
                raise GitHubError(f"no answer from GitHub at {self.http.base_url}: {exc}") from exc
            if response.is_success:
                return response
            if method != "GET" or response.status_code < 500 or attempt == GET_ATTEMPTS:
                break
            await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
        what = f"{method} {path} ({self.hook.label})"
        raise GitHubError.answered(what, response.status_code, response.headers, _body(response))


class Reconciler:
    def __init__(
        self, github: HookDeliveries, store: BuildStore, *, window: timedelta = WINDOW,
        dry_run: bool = False, now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:  # fmt: skip
        self.github, self.store, self.window, self.dry_run = github, store, window, dry_run
        self._now = now

    async def candidates(self, report: Report) -> list[Delivery]:
        """The events to redeliver: undelivered, unknown to Tingle, not redelivered before."""
        attempts = await self.github.recent(self._now() - self.window)
        failed = undelivered(attempts)
        report.attempts, report.guids = len(attempts), len({d.guid for d in attempts})
        report.delivered = report.guids - len(failed)
        todo: list[Delivery] = []
        for delivery in failed:  # a few keys per undelivered event: cheap next to GitHub calls
            if await self.store.redis.exists(self.store.key("delivery", delivery.guid)):
                report.recorded += 1
            elif await self.store.redis.exists(self.store.key("redelivered", delivery.guid)):
                report.redelivered_before += 1
            else:
                todo.append(delivery)
        return todo

    async def redeliver(self, report: Report, todo: Iterable[Delivery]) -> None:
        redis = self.store.redis
        for delivery in todo:
            key = self.store.key("redelivered", delivery.guid)
            if not self.dry_run and not await redis.set(key, delivery.id, nx=True, ex=TTL):
                report.redelivered_before += 1  # another reconciler claimed it since the listing
                continue
            try:
                if not self.dry_run:
                    await self.github.redeliver(delivery.id)
            except GitHubError as exc:
                if exc.status is not None or isinstance(exc.__cause__, httpx.ConnectError):
                    await redis.delete(key)  # surely not redelivered: the next run may
                report.errors.append(f"{delivery.guid}: {exc}")
                if exc.retry_after is not None:  # rate limited, or GitHub is down: stop here
                    report.errors.append(f"stopped; try again in {exc.retry_after:.0f} s")
                    return
                continue
            report.redelivered.append(delivery)

    async def run(self) -> Report:
        report = Report(self.github.hook.label)
        await self.redeliver(report, await self.candidates(report))
        return report


def _next_cursor(response: httpx.Response) -> str | None:
    # The cursor, not the link (which may name another host): our token goes to the API root only.
    url = response.links.get("next", {}).get("url")
    cursors = parse_qs(urlsplit(url).query).get("cursor") if url else None
    return cursors[0] if cursors else None


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:200]
