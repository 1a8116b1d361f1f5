"""`/badge/{owner}/{repo}.svg?branch=main`: the state of a branch's newest push build, as an SVG
badge for a README (the repository's default branch when no branch is given).

The badge carries no text from a payload (only its label, escaped, and fixed words), and is sent
with `no-cache` so GitHub's image proxy asks again rather than showing last week's state.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import Response

from tingle.web.auth import readable_api
from tingle.web.listing import latest_on_branch
from tingle.web.views import app_state

_LOOK = {  # state: (word, colour)
    "success": ("passing", "#2da44e"),
    "failure": ("failing", "#cf222e"),
    "error": ("error", "#cf222e"),
    "running": ("running", "#bf8700"),
    "queued": ("queued", "#bf8700"),
    "cancelled": ("cancelled", "#6e7781"),
    "skipped": ("skipped", "#6e7781"),
}
_UNKNOWN = ("unknown", "#6e7781")


def _width(text: str) -> int:
    """Roughly the width of `text` in 11px Verdana, as shields.io badges are measured."""
    narrow = sum(ch in "fijlrt1 .:-" for ch in text)
    return int(7 * (len(text) - narrow) + 4 * narrow) + 12


def badge_svg(label: str, message: str, colour: str) -> str:
    left, right = _width(label), _width(message)
    total = left + right
    label_text, message_text = escape(label), escape(message)
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{total}' height='20' role='img' "
        f"aria-label='{label_text}: {message_text}'><title>{label_text}: {message_text}</title>"
        "<linearGradient id='s' x2='0' y2='100%'><stop offset='0' stop-color='#bbb' "
        "stop-opacity='.1'/><stop offset='1' stop-opacity='.1'/></linearGradient>"
        f"<clipPath id='r'><rect width='{total}' height='20' rx='3' fill='#fff'/></clipPath>"
        f"<g clip-path='url(#r)'><rect width='{left}' height='20' fill='#555'/>"
        f"<rect x='{left}' width='{right}' height='20' fill='{colour}'/>"
        f"<rect width='{total}' height='20' fill='url(#s)'/></g>"
        "<g fill='#fff' text-anchor='middle' font-family='Verdana,Geneva,DejaVu Sans,sans-serif' "
        "font-size='11'>"
        f"<text x='{left / 2}' y='14'>{label_text}</text>"
        f"<text x='{left + right / 2}' y='14'>{message_text}</text></g></svg>"
    )


@readable_api
async def badge(request: Request) -> Response:
    repo = f"{request.path_params['owner']}/{request.path_params['repo']}"
    branch = request.query_params.get("branch") or None
    label = request.query_params.get("label", "build")[:40] or "build"
    build = await latest_on_branch(app_state(request).store, repo, branch)
    word, colour = _LOOK.get(str(build.state), _UNKNOWN) if build else _UNKNOWN
    return Response(
        badge_svg(label, word, colour),
        media_type="image/svg+xml",
        headers={
            "Cache-Control": "no-cache, max-age=0",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
        },
    )
