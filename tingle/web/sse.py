"""`/api/builds/{id}/steps/{n}/events`: a step's new log lines as server-sent events.

Each `lines` event is one stream entry, and its SSE `id:` is the entry's id. A browser that loses
the connection reconnects by itself and sends `Last-Event-ID`; we read strictly after that entry
(XREAD), so every line arrives exactly once. The first connection says where to start with
`?after=<entry id>` (the `last_id` of the window the page already shows; `0-0`: the beginning).

When the step (or the build) has finished, the lines written last are sent, then an `end` event,
and the stream closes. A connection also closes after `MAX_CONNECTION_SECONDS`, and the browser
resumes with `Last-Event-ID`; so no connection lives for ever, and resuming is always exercised.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from tingle.archive.logs import LogReader
from tingle.store import BuildStore, LogChunk
from tingle.web.ansi import render_line
from tingle.web.auth import readable_api
from tingle.web.logapi import entry_id
from tingle.web.views import app_state, find_build, step_at, step_finished

BLOCK_MS = 1000  # under the Redis pool's 5 s socket timeout
RETRY_MS = 1000
MAX_CONNECTION_SECONDS = 300.0


@readable_api
async def step_events(request: Request) -> Response:
    build = await find_build(request)
    index = int(request.path_params["step"])
    if build is None or step_at(build, index) is None:
        return JSONResponse({"error": "build or step not found"}, status_code=404)
    start = request.headers.get("last-event-id") or request.query_params.get("after", "0-0")
    try:
        start = entry_id(start, allow_start=True)
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    start = "0-0" if start in ("-", "0") else start
    as_html = request.query_params.get("render") == "html"
    state = app_state(request)
    events = _events(state.store, state.logs, build.id, index, start, as_html)
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(
    store: BuildStore, logs: LogReader, build_id: str, index: int, cursor: str, as_html: bool
) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    deadline = time.monotonic() + MAX_CONNECTION_SECONDS
    wait = False  # the first pass only looks at the record: a finished step ends at once
    while time.monotonic() < deadline:  # then the browser comes back with Last-Event-ID
        chunks = await store.wait_log(build_id, index, cursor, BLOCK_MS) if wait else []
        wait = True
        for chunk in chunks:
            yield lines_event(chunk, as_html)
            cursor = chunk.id
        if chunks:
            continue
        build = await store.get(build_id)
        if build is None or step_finished(build, index):
            # Lines written between our last read and the step's end are still to send, from
            # the stream or, once the build's logs were archived, from the archive.
            if build is not None:
                source = await logs.source(build, index)
                after = "-" if cursor == "0-0" else cursor
                while rest := await source.read(after=after, count=32):
                    for chunk in rest:
                        yield lines_event(chunk, as_html)
                    after = rest[-1].id
            step = step_at(build, index) if build else None
            state = str(step.state) if step else "unknown"
            build_state = str(build.state) if build else "unknown"
            yield _event("end", {"state": state, "build_state": build_state})
            return
        yield ": waiting\n\n"  # a comment: keeps proxies from closing an idle stream


def lines_event(chunk: LogChunk, as_html: bool) -> str:
    lines = chunk.lines
    data: dict[str, Any] = {"first_line": chunk.first_line}
    if as_html:
        data["html"] = [render_line(line) for line in lines]
    else:
        data["lines"] = lines
    return _event("lines", data, chunk.id)


def _event(name: str, data: dict[str, Any], event_id: str | None = None) -> str:
    # json.dumps escapes newlines and non-ASCII, so the data is always one `data:` line.
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data)}\n\n"
