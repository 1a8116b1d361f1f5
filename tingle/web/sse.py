"""`/api/builds/{id}/steps/{n}/events`: a step's new log lines as server-sent events.

Each `lines` event is one stream entry, and its SSE `id:` is the entry's id. A browser that loses
the connection reconnects by itself and sends `Last-Event-ID`; we send strictly after that entry,
so every line arrives exactly once. The first connection says where to start with
`?after=<entry id>` (the `last_id` of the window the page already shows; `0-0`: the beginning).

The readers of one step share one Redis read (`tingle.web.log_fanout`): a stream catches up from
its own cursor, then takes the shared feed's chunks newer than what it sent. A stream that falls
behind the feed ends, and the browser resumes. Streams are limited per client address and in all
(`tingle.web.sse_limits`): past a limit, 429 with `Retry-After` and which limit it was.

When the step (or the build) has finished, the lines written last are sent (`_rest_of_log`), then
an `end` event, and the stream closes. A connection also closes after `MAX_CONNECTION_SECONDS`,
and the browser resumes with `Last-Event-ID`; so no connection lives for ever, and resuming is
always exercised.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from tingle.archive.logs import LogReader
from tingle.build import Build
from tingle.store import BuildStore, LogChunk
from tingle.web.ansi import render_line
from tingle.web.auth import client_address, readable_api
from tingle.web.log_fanout import Ended, Idle, Item, LogFanout, Subscriber, entry_order
from tingle.web.logapi import entry_id
from tingle.web.sse_limits import SseLimits
from tingle.web.views import app_state, find_build, step_at, step_finished

BLOCK_MS = 1000  # under the Redis pool's 5 s socket timeout (the feed's XREAD)
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
    app = app_state(request)
    address = client_address(request)
    refusal = app.sse_limits.open(address)
    if refusal is not None:
        return JSONResponse(
            {"error": refusal.message, "limit": refusal.limit},
            status_code=429,
            headers={"Retry-After": str(refusal.retry_after)},
        )
    if step_finished(build, index):  # nothing live to wait for: the rest, then the end
        events = _finished(app.logs, build, index, start, as_html)
    else:
        events = _live(app.live_logs, app.logs, build.id, index, start, as_html)
    return _CountedStream(app.sse_limits, address, events)


class _CountedStream(StreamingResponse):
    """A stream that counts against the limits until its response ends, however it ends (the
    client gone, the server stopping): `__call__` always returns or raises."""

    def __init__(self, limits: SseLimits, address: str, events: AsyncIterator[str]) -> None:
        super().__init__(
            events,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        self._release = (limits, address)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            limits, address = self._release
            limits.close(address)


async def _finished(
    logs: LogReader, build: Build, index: int, cursor: str, as_html: bool
) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    async for chunk in _rest_of_log(logs, build, index, cursor):
        yield lines_event(chunk, as_html)
    yield _end_event(build, index)


async def _live(
    fanout: LogFanout, logs: LogReader, build_id: str, index: int, cursor: str, as_html: bool
) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    deadline = time.monotonic() + MAX_CONNECTION_SECONDS
    reader = _Reader(logs, build_id, index, cursor, as_html)
    async with fanout.subscribe(build_id, index) as feed:
        while time.monotonic() < deadline:  # then the browser comes back with Last-Event-ID
            if not reader.caught_up and feed.joined_at is not None:
                async for event in reader.catch_up(feed.joined_at):
                    yield event
            item = await _next(feed)
            if item is None:  # let go (fell behind, or the feed failed): resume elsewhere
                return
            async for event in reader.take(item):
                yield event
            if isinstance(item, Ended):
                return


async def _next(feed: Subscriber) -> Item | None:
    """The feed's next item; None once let go and everything it was given is taken."""
    if feed.dropped and feed.queue.empty():
        return None
    return await feed.queue.get()


class _Reader:
    """One stream's position: what it sent last (`cursor`), and the events each item makes."""

    def __init__(
        self, logs: LogReader, build_id: str, index: int, cursor: str, as_html: bool
    ) -> None:
        self.logs, self.store, self.build_id, self.index = logs, logs.store, build_id, index
        self.cursor = cursor
        self.as_html = as_html
        self.caught_up = False

    async def catch_up(self, joined_at: str) -> AsyncIterator[str]:
        """What was written up to where the stream joined the feed, from the stream's cursor."""
        self.caught_up = True
        async for chunk in _catch_up(self.store, self.build_id, self.index, self.cursor, joined_at):
            yield self._lines(chunk)

    async def take(self, item: Item) -> AsyncIterator[str]:
        if isinstance(item, LogChunk) and entry_order(item.id) > entry_order(self.cursor):
            yield self._lines(item)  # older ones were sent by the catch-up
        elif isinstance(item, Idle):
            yield ": waiting\n\n"  # a comment: keeps proxies from closing an idle stream
        elif isinstance(item, Ended):
            if item.build is not None:  # a build gone (expired) has no rest to send
                async for chunk in _rest_of_log(self.logs, item.build, self.index, self.cursor):
                    yield self._lines(chunk)
            yield _end_event(item.build, self.index)

    def _lines(self, chunk: LogChunk) -> str:
        self.cursor = chunk.id
        return lines_event(chunk, self.as_html)


async def _catch_up(
    store: BuildStore, build_id: str, index: int, cursor: str, until: str
) -> AsyncIterator[LogChunk]:
    """The entries after `cursor` up to `until` (which exist already), read without blocking."""
    after = cursor
    while entry_order(after) < entry_order(until):
        page = await store.read_log(build_id, index, after=_from(after), count=32)
        if not page:
            return
        for chunk in page:
            yield chunk
        after = page[-1].id


async def _rest_of_log(
    logs: LogReader, build: Build, index: int, after: str
) -> AsyncIterator[LogChunk]:
    """The lines of a finished step after entry `after`: what was written between the last read
    and the step's end, from its stream or, once the build's logs were archived, the archive
    (the same entry ids either way, so a `Last-Event-ID` from the live stream resumes there)."""
    source = await logs.source(build, index)
    start = _from(after)
    while rest := await source.read(after=start, count=32):
        for chunk in rest:
            yield chunk
        start = rest[-1].id


def _from(cursor: str) -> str:
    """`read_log`'s `after` for a stream cursor ("0-0": from the start)."""
    return "-" if cursor == "0-0" else cursor


def _end_event(build: Build | None, index: int) -> str:
    step = step_at(build, index) if build else None
    state = str(step.state) if step else "unknown"
    build_state = str(build.state) if build else "unknown"
    return _event("end", {"state": state, "build_state": build_state})


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
