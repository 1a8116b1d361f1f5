"""`GET /api`: what the JSON API offers (method, path, what it does) and how to authenticate.

The list is data, kept beside the routes it describes: a test checks that every `/api` route of
the app is listed here and nothing else is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tingle.web.views import app_state

AUTH_HEADER = "Authorization"
AUTH_SCHEME = "Bearer"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    what: str


ENDPOINTS = (
    Endpoint("GET", "/api", "this list, and how to authenticate"),
    Endpoint("GET", "/api/feed", "the builds running now, then the newest (the home page's)"),
    Endpoint(
        "GET",
        "/api/repos",
        "repositories, the most recently built first, with their newest build and their default "
        "branch's newest build; ?page=&per_page=",
    ),
    Endpoint(
        "GET",
        "/api/repos/{owner}/{repo}/builds",
        "a repository's builds, newest first; ?page=&per_page=&branch=&pr=&state=",
    ),
    Endpoint("GET", "/api/builds/{build_id}", "one build: its facts, image, steps and problems"),
    Endpoint("GET", "/api/builds/{build_id}/steps", "a build's steps"),
    Endpoint(
        "GET",
        "/api/builds/{build_id}/steps/{step}/log",
        "a step's log: text (?download=1), or a window of it as JSON "
        "(?format=json&tail=|before=&before_line=|after=|line=, render=html)",
    ),
    Endpoint(
        "GET",
        "/api/builds/{build_id}/steps/{step}/events",
        "a step's new log lines, live (server-sent events)",
    ),
    Endpoint("POST", "/api/builds/{build_id}/cancel", "cancel a queued or running build"),
    Endpoint("POST", "/api/builds/{build_id}/restart", "build the same commit again, as new"),
    Endpoint("POST", "/api/builds/{build_id}/approve", "let a held fork pull request run"),
)


async def api_index(request: Request) -> Response:
    """Public, whatever TINGLE_PUBLIC_READ says: it tells a client how to get in."""
    settings = app_state(request).settings
    header = f"{AUTH_HEADER}: {AUTH_SCHEME} <TINGLE_ADMIN_TOKEN>"
    return JSONResponse(
        {
            "endpoints": [_endpoint(e) for e in ENDPOINTS],
            "authentication": {
                "header": header,
                "actions": "cancel, restart and approve need the admin token in that header "
                "(401 without it; wrong tokens count as failed sign-ins: 429 when used up)",
                "reading": "public"
                if settings.public_read
                else "needs the same header (TINGLE_PUBLIC_READ is false)",
                "actions_enabled": bool(settings.admin_token),
            },
        }
    )


def _endpoint(endpoint: Endpoint) -> dict[str, Any]:
    # Only the actions change anything, and only they need the admin token (when reading is public).
    admin = endpoint.method == "POST"
    return {
        "method": endpoint.method,
        "path": endpoint.path,
        "description": endpoint.what,
        "admin": admin,
    }
