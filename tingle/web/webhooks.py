"""`POST /webhooks/github`: verify, record the delivery, enqueue, answer. Nothing else.

No GitHub call, no git and no YAML happen here: GitHub waits only 10 s for an answer, and a
receiver that does real work in the request drops deliveries when it is slow. A new build costs
one Redis round trip (tingle.builds.admission: claim, save, queue, lane, and a notice that makes a
worker post the `pending` status). Cancelling the builds it supersedes happens after the answer.
"""

from __future__ import annotations

import json
import math
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
from tingle.forge.signature import digest_matches, verify_signature
from tingle.forge.webhook_secrets import choose_secret, claimed_repository
from tingle.web.state import AppState
from tingle.web.webhook_body import BodyTimedOut, BodyTooLarge, NoRoom, ReceivedBody, read_body

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub's own cap on webhook payloads
MAX_DELIVERY_ID_LENGTH = 128


async def github_webhook(request: Request) -> JSONResponse:
    started = time.perf_counter()
    response = await _handle(request)
    event = request.headers.get("x-github-event", "")
    metrics.observe_webhook(event, _result(response), time.perf_counter() - started)
    return response


def _result(response: JSONResponse) -> str:
    result = json.loads(bytes(response.body)).get("result")
    if isinstance(result, str):
        return result
    if response.status_code in (200, 202):
        return "accepted"
    return _FAILURES.get(response.status_code, "bad_request")


_FAILURES = {401: "bad_signature", 408: "timeout", 413: "too_large", 503: "unavailable"}


async def _handle(request: Request) -> JSONResponse:
    app: AppState = request.app.state.tingle
    settings = app.settings
    # The body's bytes count against the process's budget until its answer is made.
    with app.webhook_bodies.account() as hold:
        try:
            body = await read_body(
                request,
                hold,
                limit=MAX_BODY_BYTES,
                seconds=settings.webhook_read_seconds,
                global_secret=settings.webhook_secret.encode(),
            )
        except BodyTooLarge:
            return _answer(413, error=f"body larger than {MAX_BODY_BYTES} bytes")
        except BodyTimedOut:
            seconds = settings.webhook_read_seconds
            return _answer(408, error=f"body not received within {seconds:g} s")
        except NoRoom:
            return _busy(settings.webhook_read_seconds)
        except ClientDisconnect:
            return _answer(400, error="client disconnected")
        return await _verified(app, request, body)


def _busy(read_seconds: float) -> JSONResponse:
    """503 when the bodies being read hold all the bytes allowed: room comes back within the read
    deadline at most."""
    return JSONResponse(
        {"error": "too many webhook bytes in flight, redeliver later", "result": "busy"},
        status_code=503,
        headers={"Retry-After": str(max(1, math.ceil(read_seconds)))},
    )


async def _verified(app: AppState, request: Request, body: ReceivedBody) -> JSONResponse:
    payload, refused = _check_signature(app, request, body)
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


def _check_signature(
    app: AppState, request: Request, body: ReceivedBody
) -> tuple[dict[str, Any] | MalformedPayload, JSONResponse | None]:
    """The payload, and None when the body is signed with the secret of the repository it names
    (its own, its owner's, else the global one); else the 401. A body that is no payload names no
    repository: it is checked with the global secret, and refused as malformed (400) only if that
    verifies. Without a secrets file the global secret is the only one, and a body it does not
    verify is refused unparsed (see tingle.web.webhook_body)."""
    header = request.headers.get("x-hub-signature-256")
    settings = app.settings
    if not settings.webhook_secrets and not digest_matches(body.global_digest, header):
        return MalformedPayload("not verified"), _refuse(request, None, "global")
    # Decoded only to read which repository the delivery names, which picks the secret; nothing
    # else of it is used before the signature matches.
    payload = _decode(request, body.raw)
    repo = None if isinstance(payload, MalformedPayload) else claimed_repository(payload)
    choice = choose_secret(settings.webhook_secret, settings.webhook_secrets, repo)
    if choice.is_global:
        verified = bool(body.global_digest) and digest_matches(body.global_digest, header)
    else:
        verified = verify_signature(choice.secret.encode(), body.raw, header)
    return payload, None if verified else _refuse(request, repo, choice.scope)


def _refuse(request: Request, repo: str | None, scope: str) -> JSONResponse:
    log.warning(
        "webhook signature rejected",
        delivery_id=request.headers.get("x-github-delivery"),
        repo=repo,
        secret_entry=scope,  # which entry was used, never its value
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


def _answer(status_code: int, **content: Any) -> JSONResponse:
    return JSONResponse(content, status_code=status_code)
