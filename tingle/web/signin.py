"""`/signin` and `/signout`: the admin token in a form, swapped for a session cookie.

The cookie is HttpOnly (no script reads it), SameSite=Lax (another site's page cannot make the
browser send it with a POST; a link from GitHub still opens the build page signed in) and Secure
when Tingle is served over https. It names a session kept in Redis (tingle.web.sessions), which
signing out deletes. Failed attempts are limited per client address and in all
(tingle.web.signin_limits): past the limit the form answers 429 with Retry-After, whatever the
token, until the window ends.
"""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tingle.web.auth import (
    SESSION_COOKIE,
    access,
    client_address,
    same_origin,
    token_matches,
)
from tingle.web.layout import page
from tingle.web.sessions import ADMIN, ADMIN_TOKEN, token_fingerprint
from tingle.web.state import AppState

MAX_FORM_BYTES = 4096


def _local(target: str | None) -> str:
    """Only a path on this site is followed after signing in (never another site)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _form(request: Request, target: str, error: str = "", status: int = 200) -> Response:
    if not access(request).admin_token:
        body = "<h1>Sign in</h1><p>No admin token is configured (TINGLE_ADMIN_TOKEN).</p>"
        return page(request, "Sign in", body, status=status)
    problem = f"<p class='problem' role='alert'>{escape(error)}</p>" if error else ""
    body = (
        f"<h1>Sign in</h1>{problem}<form class='signin' method='post' action='/signin'>"
        f"<input type='hidden' name='next' value='{escape(target)}'>"
        "<label>Admin token <input type='password' name='token' autocomplete='current-password'"
        " required autofocus></label> <button type='submit'>Sign in</button></form>"
    )
    return page(request, "Sign in", body, status=status)


async def signin_form(request: Request) -> Response:
    return _form(request, _local(request.query_params.get("next")))


async def signin(request: Request) -> Response:
    body = await request.body()
    fields = parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace"))
    target = _local(fields.get("next", ["/"])[0])
    token = access(request).admin_token
    if not same_origin(request):
        return _form(request, target, "Sign in from Tingle's own page.", status=403)
    app: AppState = request.app.state.tingle
    address = client_address(request)
    wait = await app.signin_limits.attempt(address)
    if wait is not None:
        refused = _form(request, target, f"Too many failed attempts: wait {wait} s.", status=429)
        refused.headers["Retry-After"] = str(wait)
        return refused
    if not token_matches(fields.get("token", [""])[0], token):
        return _form(request, target, "That is not the admin token.", status=401)
    await app.signin_limits.succeeded(address)
    cookie = await app.sessions.create(ADMIN, ADMIN_TOKEN, token_fingerprint(token))
    public_url = app.settings.public_url
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=app.sessions.ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https" or public_url.startswith("https://"),
    )
    return response


async def signout(request: Request) -> Response:
    """Ends the session for good: its record goes, so a copy of the cookie is worth nothing."""
    response = RedirectResponse("/", status_code=303)
    if same_origin(request):
        app: AppState = request.app.state.tingle
        await app.sessions.revoke(request.cookies.get(SESSION_COOKIE, ""))
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
    return response
