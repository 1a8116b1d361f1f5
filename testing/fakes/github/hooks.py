"""Webhook deliveries of repository hooks and of the App's hook, as GitHub keeps them.

`GET .../deliveries` lists them (newest first, `per_page` and `cursor`, a `Link` header);
`POST .../deliveries/{id}/attempts` answers 202 and then really re-sends the delivery, signed, to
the URL set with `set_hook_target`, as GitHub does. `deliver` sends a new delivery,
`add_delivery` records one as if it had been sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from testing.fakes.github.responses import error, iso
from testing.fakes.github.state import GitHubState

HookKey = tuple[str, int] | None  # (repository, hook id), or None for the GitHub App's hook


@dataclass(frozen=True)
class HookTarget:
    url: str  # where the hook posts: Tingle's `/webhooks/github`
    secret: str  # the hook's secret, for X-Hub-Signature-256


@dataclass
class HookDelivery:
    """One attempt at delivering an event, as GitHub keeps it for its deliveries API."""

    id: int
    guid: str  # X-GitHub-Delivery, the same for every attempt of one event
    event: str
    action: str | None
    body: bytes
    hook: HookKey
    status_code: int = 0  # 0: no answer (connection refused, timeout)
    redelivery: bool = False
    delivered_at: float = 0.0  # seconds since the epoch

    def summary(self) -> dict[str, Any]:
        ok = 200 <= self.status_code < 300
        return {
            "id": self.id,
            "guid": self.guid,
            "delivered_at": iso(self.delivered_at),
            "redelivery": self.redelivery,
            "duration": 0.05,
            "status": "OK" if ok else f"Invalid HTTP Response: {self.status_code}",
            "status_code": self.status_code,
            "event": self.event,
            "action": self.action,
            "installation_id": None,
            "repository_id": None,
        }


class HookDeliveries(GitHubState):
    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._hook_deliveries: list[HookDelivery] = []
            self._hook_targets: dict[HookKey, HookTarget] = {}
            self._resending = 0

    def set_hook_target(self, url: str, secret: str, hook: HookKey = None) -> None:
        """Where `hook` (a repository's `(repo, hook_id)`, or None: the App's) posts deliveries."""
        with self._lock:
            self._hook_targets[hook] = HookTarget(url, secret)

    def add_delivery(
        self,
        guid: str,
        event: str,
        status_code: int,
        payload: Mapping[str, Any] | bytes,
        *,
        hook: HookKey = None,
        age: float = 0.0,
        redelivery: bool = False,
    ) -> HookDelivery:
        """Record a delivery attempt made `age` seconds ago that got `status_code`, as if sent."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        action = payload.get("action") if isinstance(payload, Mapping) else None
        delivery = HookDelivery(
            id=self._new_id(), guid=guid, event=event, body=body, hook=hook,
            action=action if isinstance(action, str) else None, status_code=status_code,
            redelivery=redelivery, delivered_at=time.time() - age,
        )  # fmt: skip
        with self._lock:
            self._hook_deliveries.append(delivery)
        return delivery

    def deliver(
        self,
        event: str,
        payload: Mapping[str, Any] | bytes,
        *,
        hook: HookKey = None,
        guid: str | None = None,
        timeout: float = 10.0,
    ) -> HookDelivery:
        """Send a new delivery to the hook's target now, and record what came of it."""
        delivery = self.add_delivery(guid or str(uuid.uuid4()), event, 0, payload, hook=hook)
        target = self._hook_target(hook)
        if target is not None:
            try:
                response = httpx.post(
                    target.url, content=delivery.body, headers=_hook_headers(delivery, target),
                    timeout=timeout,
                )  # fmt: skip
                delivery.status_code = response.status_code
            except httpx.TransportError:
                delivery.status_code = 0
        return delivery

    def hook_deliveries(self, hook: HookKey = None) -> list[HookDelivery]:
        """Every attempt recorded for `hook`, oldest first."""
        with self._lock:
            return [d for d in self._hook_deliveries if d.hook == hook]

    def wait_for_redeliveries(self, timeout: float = 10.0) -> None:
        """Wait until every redelivery asked for so far has been sent and its answer recorded."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self._resending == 0:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"redeliveries still being sent after {timeout}s")
            time.sleep(0.01)

    def _hook_target(self, hook: HookKey) -> HookTarget | None:
        with self._lock:
            return self._hook_targets.get(hook)

    async def _list_deliveries(self, request: Request, payload: Any) -> Response:
        hook = _hook_key(request)
        newest_first = sorted(
            self.hook_deliveries(hook), key=lambda d: (d.delivered_at, d.id), reverse=True
        )
        try:
            per_page = min(100, max(1, int(request.query_params.get("per_page", 30))))
            cursor = request.query_params.get("cursor")
            after = int(cursor.removeprefix("v1_")) if cursor else None
        except ValueError:
            return error(422, "Invalid request")
        start = 0
        if after is not None:  # the page after the delivery the cursor names
            start = next((i + 1 for i, d in enumerate(newest_first) if d.id == after), 0)
        page = newest_first[start : start + per_page]
        response = JSONResponse([d.summary() for d in page])
        if start + per_page < len(newest_first):
            query = urlencode({"per_page": per_page, "cursor": f"v1_{page[-1].id}"})
            response.headers["Link"] = f'<{request.url.replace(query=query)}>; rel="next"'
        return response

    async def _redeliver(self, request: Request, payload: Any) -> Response:
        hook, delivery_id = _hook_key(request), request.path_params["delivery_id"]
        original = next((d for d in self.hook_deliveries(hook) if d.id == delivery_id), None)
        if original is None:
            return error(404, "Not Found")
        with self._lock:
            self._resending += 1
        # GitHub answers at once and delivers afterwards, with the same guid.
        return JSONResponse({}, status_code=202, background=BackgroundTask(self._resend, original))

    async def _resend(self, original: HookDelivery) -> None:
        try:
            again = HookDelivery(
                id=self._new_id(), guid=original.guid, event=original.event,
                action=original.action, body=original.body, hook=original.hook,
                redelivery=True, delivered_at=time.time(),
            )  # fmt: skip
            target = self._hook_target(original.hook)
            if target is not None:
                try:
                    async with httpx.AsyncClient(timeout=10.0) as client:
                        response = await client.post(
                            target.url, content=again.body, headers=_hook_headers(again, target)
                        )
                    again.status_code = response.status_code
                except httpx.TransportError:
                    again.status_code = 0
            with self._lock:
                self._hook_deliveries.append(again)
        finally:
            with self._lock:
                self._resending -= 1


def _hook_key(request: Request) -> HookKey:
    params = request.path_params
    if "hook_id" not in params:
        return None
    return f"{params['owner']}/{params['repo']}", int(params["hook_id"])


def _hook_headers(delivery: HookDelivery, target: HookTarget) -> dict[str, str]:
    digest = hmac.new(target.secret.encode(), delivery.body, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": delivery.event,
        "X-GitHub-Delivery": delivery.guid,
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/fake",
    }
    if delivery.hook is not None:
        headers["X-GitHub-Hook-ID"] = str(delivery.hook[1])
    return headers
