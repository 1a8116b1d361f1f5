"""The frame every HTML page shares, and small pieces of markup.

Every piece of text that reaches a page goes through `html.escape` here or in the page itself;
the Content-Security-Policy (scripts only from our own static files) is a second fence should one
ever be missed.
"""

from __future__ import annotations

import hashlib
from functools import cache
from html import escape
from pathlib import Path
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse

from tingle.web import times
from tingle.web.auth import access, is_admin

STATIC_DIR = Path(__file__).resolve().parent / "static"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@cache
def static_url(name: str) -> str:
    """The file's URL with a hash of its content, so a new release is never served stale."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]
    return f"/static/{name}?v={digest}"


def page(
    request: Request, title: str, body: str, *, status: int = 200, scripts: tuple[str, ...] = ()
) -> HTMLResponse:
    tags = "".join(f"<script src='{static_url(name)}' defer></script>" for name in scripts)
    html = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<link rel='icon' href='data:,'>"
        f"<title>{escape(title)} · Tingle</title>"
        f"<link rel='stylesheet' href='{static_url('tingle.css')}'>{tags}</head>"
        f"<body><header class='top'><a class='brand' href='/'>Tingle</a>{_who(request)}</header>"
        f"<main>{body}</main></body></html>"
    )
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store",
        },
    )


def _who(request: Request) -> str:
    if is_admin(request):
        return (
            "<form class='who' method='post' action='/signout'>"
            "<span>signed in</span> <button type='submit' class='link'>Sign out</button></form>"
        )
    if not access(request).admin_token:
        return ""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"<a class='who' href='/signin?{escape(urlencode({'next': here}))}'>Sign in</a>"


def not_found(request: Request, what: str) -> HTMLResponse:
    return page(request, "Not found", f"<h1>{escape(what)} not found</h1>", status=404)


def state_label(state: str) -> str:
    return f"<span class='state state-{escape(state)}'>{escape(state)}</span>"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def when(timestamp: float | None) -> str:
    """The relative time ("3 min ago"), the absolute one in `title` and `datetime`."""
    if timestamp is None:
        return ""
    return (
        f"<time datetime='{times.iso(timestamp)}' title='{times.absolute(timestamp)}'>"
        f"{times.ago(timestamp)}</time>"
    )


def link(href: str | None, text: str) -> str:
    """A link when `href` is given (already checked to be ours or http(s)), else the text."""
    if not href:
        return escape(text)
    return f"<a href='{escape(href)}'>{escape(text)}</a>"


def pager(request: Request, page_number: int, has_more: bool) -> str:
    def to(number: int) -> str:
        query = dict(request.query_params)
        query["page"] = str(number)
        return f"{request.url.path}?{urlencode(query)}"

    parts = []
    if page_number > 1:
        parts.append(f"<a rel='prev' href='{escape(to(page_number - 1))}'>← newer</a>")
    parts.append(f"<span>page {page_number}</span>")
    if has_more:
        parts.append(f"<a rel='next' href='{escape(to(page_number + 1))}'>older →</a>")
    return f"<nav class='pager'>{' '.join(parts)}</nav>"
