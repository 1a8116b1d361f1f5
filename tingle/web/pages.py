"""Plain HTML pages: recent builds, and one build with its steps and logs.

Every piece of text from a payload or a log goes through `html.escape`: a log line
`<script>…</script>` is shown, never run.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from tingle.build import Build
from tingle.web.state import AppState

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1f2328}
table{border-collapse:collapse}
td,th{padding:.25rem .75rem;text-align:left;border-bottom:1px solid #ddd}
.success{color:#1a7f37}.failure,.error{color:#cf222e}.running,.queued,.pending{color:#9a6700}
.skipped{color:#6e7781}pre{background:#f6f8fa;padding:.75rem;overflow-x:auto}
"""


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def _state(state: str) -> str:
    return f"<span class='{escape(state)}'>{escape(state)}</span>"


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}s"


async def index(request: Request) -> Response:
    app: AppState = request.app.state.tingle
    rows = "".join(
        f"<tr><td><a href='/builds/{escape(b.id)}'>#{escape(b.id)}</a></td>"
        f"<td>{escape(b.repo)}</td>"
        f"<td>{escape(b.branch or '')}</td><td>{escape(b.sha[:10])}</td><td>{_state(b.state)}</td>"
        f"<td>{_seconds(b.duration)}</td></tr>"
        for b in await app.store.list_builds(limit=100)
    )
    return _page(
        "Tingle builds",
        "<h1>Builds</h1><table><tr><th>Build</th><th>Repository</th><th>Branch</th>"
        f"<th>Commit</th><th>State</th><th>Duration</th></tr>{rows}</table>",
    )


async def _build_or_404(request: Request) -> Build | None:
    app: AppState = request.app.state.tingle
    return await app.store.get(request.path_params["build_id"])


async def build_page(request: Request) -> Response:
    app: AppState = request.app.state.tingle
    build = await _build_or_404(request)
    if build is None:
        return _page("Not found", "<h1>Build not found</h1>")
    problems = "".join(f"<li><code>{escape(p)}</code></li>" for p in build.problems)
    steps = []
    for index, step in enumerate(build.steps):
        text = await app.store.log_text(build.id, index)
        steps.append(
            f"<h3 id='step-{index}'>{escape(step.name)} {_state(step.state)}"
            f" <small>{escape(step.image)} · exit {step.exit_code} · {_seconds(step.duration)}"
            f"</small></h3><pre>{escape(text)}</pre>"
            + (f"<p class='error'>{escape(step.error)}</p>" if step.error else "")
        )
    return _page(
        f"Build #{build.id}",
        f"<h1>Build #{escape(build.id)} {_state(build.state)}</h1>"
        f"<p>{escape(build.repo)} · {escape(build.ref)} · <code>{escape(build.sha)}</code>"
        f" · {escape(build.event)} · {_seconds(build.duration)}</p>"
        f"<p>{escape(build.reason or '')}</p>"
        + (f"<h2>Problems</h2><ul>{problems}</ul>" if problems else "")
        + "".join(steps),
    )


async def build_json(request: Request) -> Response:
    build = await _build_or_404(request)
    if build is None:
        return JSONResponse({"error": "build not found"}, status_code=404)
    return JSONResponse(build.to_dict())


async def step_log(request: Request) -> Response:
    app: AppState = request.app.state.tingle
    build = await _build_or_404(request)
    index = int(request.path_params["step"])
    if build is None or not 0 <= index < len(build.steps):
        return PlainTextResponse("not found\n", status_code=404)
    return PlainTextResponse(await app.store.log_text(build.id, index))
