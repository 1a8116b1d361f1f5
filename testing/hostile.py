"""Hostile HTTP clients on raw asyncio sockets, for tests and benchmarks: a body trickled slowly
(with a declared length or chunked), and headers that never end."""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.parse
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: the connection closed without an answer
    headers: dict[str, str]
    seconds: float  # from the request's headers sent to the answer's (or the close)
    sent: int  # body bytes written before the answer came


def _address(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


async def trickle(
    url: str,
    *,
    path: str = "/webhooks/github",
    declared: int | None,
    chunk: int,
    every: float,
    headers: dict[str, str] | None = None,
) -> Answer:
    """POST a body of `declared` bytes (None: chunked, without end) `chunk` bytes every `every`
    seconds, until the server answers; the answer's status and headers."""
    reader, writer = await asyncio.open_connection(*_address(url))
    head = [f"POST {path} HTTP/1.1", f"Host: {_address(url)[0]}", "Content-Type: application/json"]
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    chunked = declared is None
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {declared}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    started = time.monotonic()
    answer = asyncio.create_task(reader.readuntil(b"\r\n\r\n"))
    sent = 0
    try:
        while not answer.done() and (declared is None or sent + chunk <= declared):
            piece = b"x" * chunk
            writer.write(piece if declared is not None else b"%x\r\n%s\r\n" % (chunk, piece))
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            sent += chunk
            await asyncio.wait({answer}, timeout=every)
        return _parse(await _head(answer), time.monotonic() - started, sent)
    finally:
        answer.cancel()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def _head(answer: asyncio.Task[bytes]) -> bytes:
    try:
        return await asyncio.wait_for(answer, timeout=60)
    except (asyncio.IncompleteReadError, ConnectionError):
        return b""


def _parse(head: bytes, seconds: float, sent: int) -> Answer:
    if not head:
        return Answer(None, {}, seconds, sent)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines if ": " in line)
    status = int(status_line.split()[1])
    return Answer(status, {k.lower(): v for k, v in fields.items()}, seconds, sent)


async def endless_headers(url: str, *, every: float, give_up: float) -> float | None:
    """Send a request's headers one short line every `every` seconds, never ending them; the
    seconds until the server closed the connection (None: still open after `give_up`)."""
    started = time.monotonic()  # before connecting: the server times from the connection
    reader, writer = await asyncio.open_connection(*_address(url))
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: tingle\r\n")
    closed = asyncio.create_task(reader.read())
    try:
        while time.monotonic() - started < give_up:
            done, _ = await asyncio.wait({closed}, timeout=every)
            if done:
                return time.monotonic() - started
            writer.write(b"X-Slow: still here\r\n")
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        return None
    finally:
        closed.cancel()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
