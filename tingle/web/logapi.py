"""`/api/builds/{id}/steps/{n}/log`: a step's log, whole as text, or a window of it as JSON.

- Text (the default): the whole log, streamed from Redis a few entries at a time, so a 50 MB log
  downloads without the server holding it; `?download=1` makes it an attachment.
- JSON (`?format=json`, or `Accept: application/json`): a window of lines.
  `tail=N` the last N lines (default 1000, at most 10000); with `before=<entry id>&before_line=L`
  the N lines before line L (as given in a window's `before`), not below `min_line`;
  `after=<entry id>` whole entries after that one (as in `last_id`, and the SSE ids);
  `line=L` a window around line L. `render=html` gives each line as escaped HTML with its ANSI
  colours as spans (`html`) instead of raw text (`lines`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from tingle.archive.logs import ArchivedLog, LogSource
from tingle.build import Build
from tingle.web.ansi import render_line
from tingle.web.auth import readable_api
from tingle.web.logwindow import Cursor, LogWindow, StepLog
from tingle.web.views import app_state, find_build, log_truncated, step_at

DEFAULT_LINES = 1000
MAX_LINES = 10_000
RAW_PAGE_ENTRIES = 32
ENTRY_ID = re.compile(r"\d{1,20}-\d{1,20}")


def entry_id(value: str, *, allow_start: bool = False) -> str:
    if ENTRY_ID.fullmatch(value) or (allow_start and value in ("-", "0", "0-0")):
        return value
    raise ValueError(f"not a log entry id: {value[:40]!r}")


def _number(value: str, name: str, low: int = 1, high: int = 2**62) -> int:
    if not value.isdigit() or not low <= int(value) <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}")
    return int(value)


async def _build_and_step(request: Request) -> tuple[Build, int] | None:
    build = await find_build(request)
    index = int(request.path_params["step"])
    if build is None or step_at(build, index) is None:
        return None
    return build, index


@readable_api
async def step_log(request: Request) -> Response:
    found = await _build_and_step(request)
    if found is None:
        return PlainTextResponse("not found\n", status_code=404)
    build, index = found
    source = await app_state(request).logs.source(build, index)
    accept = request.headers.get("accept", "")
    if request.query_params.get("format") == "json" or accept.startswith("application/json"):
        try:
            window = await _window(StepLog(source), request)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        as_html = request.query_params.get("render") == "html"
        return JSONResponse(window_view(build, index, window, as_html=as_html))
    download = request.query_params.get("download") in ("1", "true")
    return _raw(source, build.id, index, download=download)


async def _window(log: StepLog, request: Request) -> LogWindow:
    query = request.query_params
    count = _number(query.get("tail", str(DEFAULT_LINES)), "tail", high=MAX_LINES)
    if "after" in query:
        start = entry_id(query["after"], allow_start=True)
        return await log.after("-" if start in ("0", "0-0") else start)
    if "line" in query:
        return await log.around(_number(query["line"], "line"), count)
    before = None
    if "before" in query:
        before = Cursor(entry_id(query["before"]), _number(query["before_line"], "before_line"))
    return await log.tail(count, before, min_line=_number(query.get("min_line", "1"), "min_line"))


def window_view(build: Build, index: int, window: LogWindow, *, as_html: bool) -> dict[str, Any]:
    step = build.steps[index]
    view: dict[str, Any] = {
        "build_id": build.id,
        "step": index,
        "name": step.name,
        "state": str(step.state),
        "truncated": log_truncated(step),
        "first_line": window.first_line,
        "total_lines": window.total_lines,
        "before": None
        if window.before is None
        else {"id": window.before.id, "line": window.before.line},
        "last_id": window.last_id,
    }
    if as_html:
        view["html"] = [render_line(line) for line in window.lines]
    else:
        view["lines"] = window.lines
    return view


def _raw(source: LogSource, build_id: str, index: int, *, download: bool) -> Response:
    async def body() -> AsyncIterator[bytes]:
        if isinstance(source, ArchivedLog):  # the archived text is the raw log already
            async for piece in source.raw():
                yield piece
            return
        after, separator = "-", ""
        while chunks := await source.read(after=after, count=RAW_PAGE_ENTRIES):
            for chunk in chunks:
                yield (separator + chunk.text).encode()
                separator = "\n"
            after = chunks[-1].id

    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
    if download:
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"tingle-build-{build_id}-step-{index}.log")
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return StreamingResponse(body(), media_type="text/plain; charset=utf-8", headers=headers)
