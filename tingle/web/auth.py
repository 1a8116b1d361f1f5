"""Who may read and who may act.

- Acting (cancel, restart) needs the admin token (`TINGLE_ADMIN_TOKEN`): sent as
  `Authorization: Bearer <token>`, or through the sign-in form, which starts a session
  (tingle.web.sessions: a random cookie, a record in Redis that expires, deleted on sign-out).
  `SessionLookup` finds the request's session once, before any handler; rotating the token ends
  the sessions made with it. Wrong bearer tokens count against the sign-in limits as wrong
  sign-ins do (tingle.web.signin_limits): 429 once they are used up.
- Reading is public unless `TINGLE_PUBLIC_READ=false`; then it needs the same credentials.
- A request authenticated by cookie that changes something must come from our own pages (its
  `Origin` is ours): with the cookie also `SameSite=Lax`, another site cannot make a signed-in
  browser cancel builds.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from tingle.settings import Settings
from tingle.web.sessions import ADMIN, ADMIN_TOKEN, Session, token_fingerprint
from tingle.web.state import AppState

SESSION_COOKIE = "tingle_session"
_SESSION = "tingle.session"  # where SessionLookup puts the request's session in its scope

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Access:
    admin_token: str
    public_read: bool

    @classmethod
    def of(cls, settings: Settings) -> Access:
        return cls(admin_token=settings.admin_token, public_read=settings.public_read)


def access(request: Request) -> Access:
    return Access.of(request.app.state.tingle.settings)


def token_matches(candidate: str, token: str) -> bool:
    return bool(token) and hmac.compare_digest(candidate.encode(), token.encode())


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def session_of(request: Request) -> Session | None:
    """The request's live session (see SessionLookup), or None."""
    session = request.scope.get(_SESSION)
    return session if isinstance(session, Session) else None


def is_admin(request: Request) -> bool:
    token = access(request).admin_token
    bearer = _bearer(request)
    if bearer is not None:
        return token_matches(bearer, token)
    session = session_of(request)
    return bool(token) and session is not None and session.subject == ADMIN


def actor(request: Request) -> str:
    """Who is acting, as far as Tingle can tell: there is one admin token, so not a name, but
    how it came (shown as "cancelled by an admin (API)")."""
    how = "API" if _bearer(request) is not None else "signed in"
    return f"an admin ({how})"


class SessionLookup:
    """ASGI middleware: looks the session cookie up in Redis (once per request, so `is_admin`
    stays a plain function), and counts bearer tokens against the sign-in limits."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = await self._look_up(Request(scope))
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _look_up(self, request: Request) -> Response | None:
        app: AppState = request.app.state.tingle
        token = app.settings.admin_token
        bearer = _bearer(request)
        if bearer is not None and token:
            address = client_address(request)
            wait = await app.signin_limits.attempt(address)
            if wait is not None:
                return too_many_attempts(wait)
            if token_matches(bearer, token):
                await app.signin_limits.succeeded(address)
        cookie = request.cookies.get(SESSION_COOKIE, "")
        session = await app.sessions.get(cookie) if cookie else None
        if session is not None and _still_valid(session, token):
            request.scope[_SESSION] = session
        return None


def _still_valid(session: Session, token: str) -> bool:
    if session.method != ADMIN_TOKEN:
        return True
    return bool(token) and hmac.compare_digest(session.credential, token_fingerprint(token))


def too_many_attempts(wait_seconds: int) -> Response:
    return JSONResponse(
        {"error": f"too many failed sign-in attempts; try again in {wait_seconds} s"},
        status_code=429,
        headers={"Retry-After": str(wait_seconds)},
    )


def can_read(request: Request) -> bool:
    return access(request).public_read or is_admin(request)


def same_origin(request: Request) -> bool:
    """True unless the browser says the request came from another site."""
    if _bearer(request) is not None:
        return True  # not a cookie: a browser never adds this header by itself
    origin = request.headers.get("origin")
    if origin is None:
        return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
    ours = {_origin(str(request.base_url)), _origin(request.app.state.tingle.settings.public_url)}
    return _origin(origin) in ours


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def signin_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/signin?next=" + quote(target, safe="")


def readable_page(handler: Handler) -> Handler:
    """An HTML page: when reading is protected, strangers are sent to the sign-in form."""

    @wraps(handler)
    async def guarded(request: Request) -> Response:
        if not can_read(request):
            return RedirectResponse(signin_url(request), status_code=303)
        return await handler(request)

    return guarded


def readable_api(handler: Handler) -> Handler:
    """A JSON, text, SVG or event-stream resource: 401 when reading is protected."""

    @wraps(handler)
    async def guarded(request: Request) -> Response:
        if not can_read(request):
            return unauthorized("reading needs the admin token (TINGLE_PUBLIC_READ is false)")
        return await handler(request)

    return guarded


def unauthorized(message: str) -> Response:
    return JSONResponse(
        {"error": message}, status_code=401, headers={"WWW-Authenticate": 'Bearer realm="tingle"'}
    )
