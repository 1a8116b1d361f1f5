"""Live logs by server-sent events: every line once, across reconnects (`Last-Event-ID`)."""

from __future__ import annotations

import random
import threading
import time

import httpx
import pytest

from tests.web.records import Records, make_build
from tests.web.sse_client import Event, collect, lines_of
from tingle.build import BuildState, StepState


def events_url(web: str, build_id: str, after: str = "0-0") -> str:
    return f"{web}/api/builds/{build_id}/steps/0/events?after={after}"


def test_lines_written_while_away_arrive_once_after_reconnecting(
    web: str, records: Records
) -> None:
    records.save(make_build("501"))
    records.append("501", 0, ["line 1", "line 2", "line 3"])
    first = collect(events_url(web, "501"), until=lambda events: len(lines_of(events)) >= 3)
    assert lines_of(first) == ["line 1", "line 2", "line 3"]
    last_id = first[-1].id
    assert last_id is not None

    # The client is away: the build goes on.
    records.append("501", 0, ["line 4", "line 5"])
    records.append("501", 0, ["line 6"])

    def later() -> None:
        time.sleep(0.5)
        records.append("501", 0, ["line 7"])
        records.finish("501", BuildState.SUCCESS, StepState.SUCCESS)

    writer = threading.Thread(target=later)
    writer.start()
    # The browser reconnects to the same URL (after=0-0) and sends Last-Event-ID, which wins.
    second = collect(events_url(web, "501"), last_event_id=last_id)
    writer.join()
    assert lines_of(second) == ["line 4", "line 5", "line 6", "line 7"]
    assert second[-1].name == "end"
    assert second[-1].data == {"state": "success", "build_state": "success"}
    assert [e.data["first_line"] for e in second if e.name == "lines"] == [4, 6, 7]


def test_a_flaky_client_gets_every_line_exactly_once(web: str, records: Records) -> None:
    """A writer appends 120 entries while the client hangs up after a random number of events,
    again and again; the lines it sees in the end are 1..N, in order, none twice."""
    records.save(make_build("502"))
    total_entries = 120

    def write() -> None:
        for _ in range(total_entries):
            records.append(
                "502", 0, [f"line {records.next_line.get(('502', 0), 1) + i}" for i in range(3)]
            )
            time.sleep(0.005)
        records.finish("502", BuildState.FAILURE, StepState.FAILURE)

    writer = threading.Thread(target=write)
    writer.start()
    seen: list[str] = []
    last_id: str | None = None
    rng = random.Random(5)
    connections = 0
    while True:
        connections += 1
        budget = rng.randint(1, 15)

        def hang_up(events: list[Event], budget: int = budget) -> bool:
            return sum(e.name == "lines" for e in events) >= budget

        events = collect(events_url(web, "502"), last_event_id=last_id, until=hang_up)
        seen += lines_of(events)
        last_id = next((e.id for e in reversed(events) if e.id), last_id)
        if events and events[-1].name == "end":
            break
    writer.join()
    assert connections > 3
    assert seen == [f"line {n}" for n in range(1, 3 * total_entries + 1)]


def test_a_finished_step_sends_what_is_left_then_ends(web: str, records: Records) -> None:
    records.save(make_build("503", state=BuildState.SUCCESS, steps=(("t", StepState.SUCCESS),)))
    first = records.append("503", 0, ["a"])
    records.append("503", 0, ["b", "c"])
    started = time.monotonic()
    events = collect(events_url(web, "503", after=first))
    assert time.monotonic() - started < 1.0  # no waiting on a finished step
    assert lines_of(events) == ["b", "c"] and events[-1].name == "end"


def test_html_rendering_and_bad_ids(web: str, records: Records) -> None:
    records.save(make_build("504", state=BuildState.FAILURE, steps=(("t", StepState.FAILURE),)))
    records.append("504", 0, ["<script>alert(1)</script>"])
    events = collect(events_url(web, "504") + "&render=html")
    assert events[0].data["html"] == ["&lt;script&gt;alert(1)&lt;/script&gt;"]
    bad = httpx.get(events_url(web, "504"), headers={"Last-Event-ID": "<b>1-1</b>"}, timeout=10)
    assert bad.status_code == 400
    assert httpx.get(f"{web}/api/builds/504/steps/3/events", timeout=10).status_code == 404


@pytest.mark.parametrize("gone", ["build", "cancelled"])
def test_stream_ends_when_the_build_ends_even_if_the_step_record_lags(
    web: str, records: Records, gone: str
) -> None:
    records.save(make_build("505"))
    records.append("505", 0, ["x"])
    build = records.get("505")
    build.state = BuildState.ERROR if gone == "build" else BuildState.CANCELLED
    records.save(build)  # the step still says running: the build's end is enough
    events = collect(events_url(web, "505"))
    assert lines_of(events) == ["x"] and events[-1].name == "end"
