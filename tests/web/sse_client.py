"""A small server-sent-events reader over httpx, for tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Event:
    name: str
    data: dict[str, Any]
    id: str | None


def read_events(response: httpx.Response) -> Iterator[Event]:
    name, data, event_id = "message", "", None
    for line in response.iter_lines():
        if not line:
            if data:
                yield Event(name, json.loads(data), event_id)
            name, data, event_id = "message", "", None
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data += value
            elif field == "id":
                event_id = value


def collect(
    url: str,
    *,
    last_event_id: str | None = None,
    until: Callable[[list[Event]], bool] = lambda events: False,
) -> list[Event]:
    """Events from one connection: until `until(events)` is true (then we hang up) or `end`."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    events: list[Event] = []
    with httpx.stream("GET", url, headers=headers, timeout=10) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for event in read_events(response):
            events.append(event)
            if event.name == "end" or until(events):
                break
    return events


def lines_of(events: list[Event]) -> list[str]:
    return [line for e in events if e.name == "lines" for line in e.data["lines"]]


async def aread_events(response: httpx.Response) -> AsyncIterator[Event]:
    """`read_events` for an httpx.AsyncClient's streamed response."""
    name, data, event_id = "message", "", None
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield Event(name, json.loads(data), event_id)
            name, data, event_id = "message", "", None
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data += value
            elif field == "id":
                event_id = value
