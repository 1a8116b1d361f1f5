"""A worker's own listener: /metrics, /healthz and /readyz, from a daemon thread."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tingle.metrics import render


class WorkerHealth:
    """Ready once started and while its event loop beats (`heartbeat`); not while stopping."""

    def __init__(
        self, stale_after: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._stale_after = stale_after
        self._started = False
        self._stopping = False
        self._last_beat: float | None = None

    def beat(self) -> None:
        self._last_beat = self._clock()

    def mark_ready(self) -> None:
        self._started = True
        self.beat()

    def mark_stopping(self) -> None:
        self._stopping = True

    def readiness(self) -> tuple[bool, str]:
        if self._stopping:
            return False, "stopping"
        if not self._started or self._last_beat is None:
            return False, "starting"
        silent = self._clock() - self._last_beat
        if silent > self._stale_after:
            return False, f"event loop silent for {silent:.0f}s"
        return True, "ready"


async def heartbeat(health: WorkerHealth, interval: float = 5.0) -> None:
    """Beat every `interval` seconds, for ever: a blocked event loop stops the beats."""
    while True:
        health.beat()
        await asyncio.sleep(interval)


def _handler(health: WorkerHealth) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                body, content_type = render(self.headers.get("Accept", ""))
                self._answer(200, body, content_type)
            elif path == "/healthz":
                self._json(200, {"ok": True})
            elif path == "/readyz":
                ready, why = health.readiness()
                self._json(200 if ready else 503, {"ok": ready, "status": why})
            else:
                self._json(404, {"error": "not found"})

        def _json(self, status: int, content: dict[str, Any]) -> None:
            self._answer(status, json.dumps(content).encode(), "application/json")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # scrapes every few seconds would drown the worker's own log

    return Handler


def start_worker_server(
    port: int, health: WorkerHealth, host: str = "0.0.0.0"
) -> ThreadingHTTPServer:
    """Serve /metrics, /healthz and /readyz on `host:port` from a daemon thread.

    Call `.shutdown()` on the answer to stop it. Port 0 picks a free one (`.server_address`)."""
    server = ThreadingHTTPServer((host, port), _handler(health))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
