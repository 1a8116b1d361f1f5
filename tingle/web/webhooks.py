"""`POST /webhooks/github`: verify, record the delivery, enqueue, answer. Nothing else.

No GitHub call, no git and no YAML happen here: GitHub waits only 10 s for an answer, and a
receiver that does real work in the request drops deliveries when it is slow. A new build costs
one Redis round trip (tingle.builds.admission: claim, save, queue, lane, and a notice that makes a
worker post the `pending` status). Cancelling the builds it supersedes happens after the answer.
"""

from __future__ import annotations

import json
import time
from typing import Any

import structlog
from redis.exceptions import RedisError
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from tingle import metrics
from tingle.builds.control import close_lane, supersede
from tingle.builds.triggers import accept_trigger
from tingle.forge.events import (
    BuildTrigger,
    Ignored,
    LaneClosed,
    MalformedPayload,
    decode_payload,
    parse_event,
)
from tingle.forge.signature import verify_signature
from tingle.forge.webhook_secrets import choose_secret, claimed_repository
from tingle.web.state import AppState

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub's own cap on webhook payloads
MAX_DELIVERY_ID_LENGTH = 128


class BodyTooLarge(Exception):
    pass


async def github_webhook(request: Request) -> JSONResponse:
    started = time.perf_counter()
    response = await _handle(request)
    event = request.headers.get("x-github-event", "")
    metrics.observe_webhook(event, _result(response), time.perf_counter() - started)
    return response


def _result(response: JSONResponse) -> str:
    if response.status_code in (200, 202):
        return str(json.loads(bytes(response.body)).get("result", "accepted"))
    return _FAILURES.get(response.status_code, "bad_request")


_FAILURES = {401: "bad_signature", 413: "too_large", 503: "unavailable"}


async def _handle(request: Request) -> JSONResponse:
    app: AppState = request.app.state.tingle
    try:
        body = await _read_body(request, MAX_BODY_BYTES)
    except BodyTooLarge:
        return _answer(413, error=f"body larger than {MAX_BODY_BYTES} bytes")
    except ClientDisconnect:
        return _answer(400, error="client disconnected")
    # Decoded only to read which repository the delivery names, which picks the secret; nothing
    # else of it is used before the signature matches.
    payload = _decode(request, body)
    refused = _refuse_signature(app, request, body, payload)
    if refused is not None:
        return refused
    event = request.headers.get("x-github-event", "")
    delivery_id = request.headers.get("x-github-delivery", "")
    if not event or not delivery_id or len(delivery_id) > MAX_DELIVERY_ID_LENGTH:
        return _answer(400, error="missing X-GitHub-Event or X-GitHub-Delivery header")
    structlog.contextvars.bind_contextvars(delivery_id=delivery_id)
    try:
        if event == "ping":
            return _answer(200, result="pong")
        outcome = _parse(app, event, payload)
        if isinstance(outcome, JSONResponse):
            return outcome
        if isinstance(outcome, Ignored):
            log.info("webhook ignored", gh_event=event, reason=outcome.reason)
            return _answer(200, result="ignored", reason=outcome.reason)
        if isinstance(outcome, LaneClosed):  # its builds are cancelled after the answer
            log.info("lane closed", gh_event=event, repo=outcome.repo, reason=outcome.reason)
            return JSONResponse(
                {"result": "closed", "reason": outcome.reason},
                background=BackgroundTask(close_lane, app, outcome),
            )
        try:
            return await _accept(app, outcome, event, delivery_id)
        except (RedisError, OSError) as exc:
            log.error("webhook not recorded: redis unavailable", error=str(exc))
            return _answer(503, error="build queue unavailable, redeliver later")
    finally:
        structlog.contextvars.unbind_contextvars("delivery_id")


def _decode(request: Request, body: bytes) -> dict[str, Any] | MalformedPayload:
    try:
        return decode_payload(request.headers.get("content-type"), body)
    except MalformedPayload as exc:
        return exc


def _parse(
    app: AppState, event: str, payload: dict[str, Any] | MalformedPayload
) -> BuildTrigger | LaneClosed | Ignored | JSONResponse:
    """What the event asks for, its clone URL derived from the configured GitHub; or the 400."""
    try:
        if isinstance(payload, MalformedPayload):
            raise payload
        return parse_event(event, payload, github_url=app.settings.github_url)
    except MalformedPayload as exc:
        return _answer(400, error=f"malformed payload: {exc}")


def _refuse_signature(
    app: AppState, request: Request, body: bytes, payload: dict[str, Any] | MalformedPayload
) -> JSONResponse | None:
    """None when the body is signed with the secret of the repository it names (its own, its
    owner's, else the global one); else the 401. A body that is no payload names no repository:
    it is checked with the global secret, and refused as malformed (400) only if that verifies."""
    repo = None if isinstance(payload, MalformedPayload) else claimed_repository(payload)
    settings = app.settings
    choice = choose_secret(settings.webhook_secret, settings.webhook_secrets, repo)
    if verify_signature(choice.secret.encode(), body, request.headers.get("x-hub-signature-256")):
        return None
    log.warning(
        "webhook signature rejected",
        delivery_id=request.headers.get("x-github-delivery"),
        repo=repo,
        secret_entry=choice.scope,  # which entry was used, never its value
    )
    named = f" for {repo[:200]}" if repo else ""
    return _answer(401, error=f"missing or invalid X-Hub-Signature-256{named}")


async def _accept(
    app: AppState, trigger: BuildTrigger, event: str, delivery_id: str
) -> JSONResponse:
    accepted = await accept_trigger(app, trigger, delivery_id)
    build_id, created, older = accepted.build_id, accepted.created, accepted.supersedes
    log.info("webhook accepted", gh_event=event, build_id=build_id, repo=trigger.repo, new=created)
    return JSONResponse(
        {
            "result": "queued" if created else "duplicate",
            "build_id": build_id,
            "url": app.settings.build_url(build_id),
        },
        status_code=202,
        background=BackgroundTask(supersede, app, accepted.build, older) if older else None,
    )


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(status_code: int, **content: Any) -> JSONResponse:
    return JSONResponse(content, status_code=status_code)
