"""How uvicorn serves the web app: its limits for slow and numerous clients, and a header deadline.

uvicorn bounds a request's headers in size (`h11_max_incomplete_event_size`), idle keep-alive
connections (`timeout_keep_alive`) and open connections (`limit_concurrency`: past it, new
requests get 503), but not the time headers take to arrive: a client that opens a connection and
sends a byte now and then holds it for ever (slowloris), and so does one that trickles the rest of
a body already answered (uvicorn reads and discards it). `HeaderDeadlineProtocol` closes a
connection whose next request's headers are not complete `seconds` after the connection opened or
the previous answer was sent. (A body's own deadline is the webhook handler's:
tingle.web.webhook_body.)

Behind a reverse proxy, let it buffer requests and bound them too (nginx: `client_header_timeout`,
`client_body_timeout`, `client_max_body_size 25m`; and `proxy_buffering off` for
`/api/builds/*/events`), and pass the client's address (`X-Forwarded-For`, with uvicorn's
`--forwarded-allow-ips` naming the proxy) so that live-log limits count clients, not the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from tingle.settings import Settings

MAX_HEADER_BYTES = 16 * 1024  # a GitHub delivery's headers are well under 2 KiB
KEEP_ALIVE_SECONDS = 5
SHUTDOWN_SECONDS = 10  # live-log streams would otherwise hold a stopping server for minutes


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline for each request's headers (`header_seconds`)."""

    header_seconds: float = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm()

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:  # a request's headers are complete: its handler runs now
            self._disarm()

    def on_response_complete(self) -> None:
        self._arm()  # before super(): it may start a pipelined request, which disarms
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_seconds, self._expired)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expired(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            with contextlib.suppress(h11.LocalProtocolError):  # what uvicorn's own timeout does
                self.conn.send(h11.ConnectionClosed())
            self.transport.close()


def protocol_for(settings: Settings) -> type[HeaderDeadlineProtocol]:
    """The protocol class uvicorn instantiates per connection, with the settings' deadline."""
    return type(
        "TingleHTTPProtocol",
        (HeaderDeadlineProtocol,),
        {"header_seconds": settings.http_header_seconds},
    )


def server_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn.Config options of the web app (besides the app, host and port)."""
    return {
        "http": protocol_for(settings),
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "limit_concurrency": settings.http_max_connections,
        "timeout_graceful_shutdown": SHUTDOWN_SECONDS,
        "log_config": None,
        "access_log": False,  # "webhook accepted" says more, once
    }
