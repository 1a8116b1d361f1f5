"""Who may read and who may act.

- Acting (cancel, restart) needs the admin token (`TINGLE_ADMIN_TOKEN`): sent as
  `Authorization: Bearer <token>`, or through the sign-in form, which sets a session cookie. The
  cookie holds an HMAC of the token, not the token, so rotating the token signs everyone out.
- Reading is public unless `TINGLE_PUBLIC_READ=false`; then it needs the same credentials.
- A request authenticated by cookie that changes something must come from our own pages (its
  `Origin` is ours): with the cookie also `SameSite=Lax`, another site cannot make a signed-in
  browser cancel builds.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from tingle.settings import Settings

SESSION_COOKIE = "tingle_session"
SESSION_SECONDS = 12 * 3600

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


def session_value(token: str) -> str:
    return hmac.new(token.encode(), b"tingle web session v1", hashlib.sha256).hexdigest()


def token_matches(candidate: str, token: str) -> bool:
    return bool(token) and hmac.compare_digest(candidate.encode(), token.encode())


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def _cookie_ok(request: Request, token: str) -> bool:
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return bool(token) and bool(cookie) and hmac.compare_digest(cookie, session_value(token))


def is_admin(request: Request) -> bool:
    token = access(request).admin_token
    bearer = _bearer(request)
    if bearer is not None:
        return token_matches(bearer, token)
    return _cookie_ok(request, token)


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
