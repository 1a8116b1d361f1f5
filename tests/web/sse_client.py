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


class _Parser:
    """The event stream format, a line at a time: an event ends at a blank line."""

    def __init__(self) -> None:
        self.name, self.data = "message", ""
        self.event_id: str | None = None

    def feed(self, line: str) -> Event | None:
        if not line:
            event = Event(self.name, json.loads(self.data), self.event_id) if self.data else None
            self.name, self.data, self.event_id = "message", "", None
            return event
        if not line.startswith(":"):
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                self.name = value
            elif field == "data":
                self.data += value
            elif field == "id":
                self.event_id = value
        return None


def read_events(response: httpx.Response) -> Iterator[Event]:
    parser = _Parser()
    for line in response.iter_lines():
        if (event := parser.feed(line)) is not None:
            yield event


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
    parser = _Parser()
    async for line in response.aiter_lines():
        if (event := parser.feed(line)) is not None:
            yield event
