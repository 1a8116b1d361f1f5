"""The build page in a real headless Chromium: live lines appear while the build runs, a log
line `<script>` stays inert text, the build is cancelled from the page, and reconnecting loses
and repeats nothing."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import redis
from arq.constants import abort_jobs_ss

from tests.browser.conftest import ADMIN_TOKEN, Watched, screenshot
from tests.web.records import Records, make_build
from tingle.build import BuildState, StepState
from tingle.settings import Settings

XSS_LINES = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "\x1b[1;31mERROR\x1b[0m <b onmouseover=alert(3)>not bold</b>",
]


def sign_in(page: Any, web: str, build_id: str) -> None:
    page.goto(f"{web}/signin?next=/builds/{build_id}")
    page.fill("input[name=token]", ADMIN_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(rf"/builds/{build_id}$"))


def log_lines(page: Any, step: int) -> list[str]:
    texts: list[str] = page.eval_on_selector_all(
        f"#step-{step} .log .l .t", "rows => rows.map(row => row.textContent)"
    )
    return texts


def test_live_log_escaped_lines_and_cancel(
    web: str, records: Records, watched: Watched, settings: Settings, fake_github: Any
) -> None:
    page = watched.page
    records.save(
        make_build("701", steps=(("lint", StepState.SUCCESS), ("test", StepState.RUNNING)))
    )
    records.append("701", 0, ["+ ruff check .", "All checks passed!"])
    records.append("701", 1, ["+ pytest -q", *XSS_LINES])
    sign_in(page, web, "701")

    page.wait_for_selector("#step-1-L4")
    assert log_lines(page, 1)[1:] == [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(2)>",
        "ERROR <b onmouseover=alert(3)>not bold</b>",
    ]
    assert page.locator("#step-1 .log script, #step-1 .log img, #step-1 .log b").count() == 0
    assert page.locator("#step-1-L4 .a-b.a-c1").text_content() == "ERROR"  # colours rendered

    # The build runs on: new lines appear without reloading.
    for n in range(3):
        started = time.monotonic()
        records.append("701", 1, [f"test_{n}.py::test_ok PASSED", f"progress {n + 1}/3"])
        page.wait_for_selector(f"#step-1-L{6 + 2 * n}", timeout=5000)
        waited = 1000 * (time.monotonic() - started)
        print(f"live line {n}: on the page {waited:.0f} ms after it was written")
    assert log_lines(page, 1)[-1] == "progress 3/3"
    assert page.locator("#step-1 .step-state").text_content() == "running"
    print("screenshot:", screenshot(page, "build-page-running.png"))

    # Line numbers are links to themselves.
    page.click("#step-1-L3 a.n")
    assert page.evaluate("location.hash") == "#step-1-L3"

    page.click("form.cancel button")
    page.wait_for_url(re.compile(r"/builds/701\?notice=cancel-requested$"))
    assert "Cancel requested" in page.locator(".notice").text_content()
    cancel = records.run(lambda store: store.cancel_request("701"))
    assert cancel is not None  # what the worker running the build watches for
    aborted = redis.Redis.from_url(settings.redis_url).zscore(abort_jobs_ss, "build:701")
    assert aborted is not None  # and the arq job is asked to abort

    # The worker honours it: a last line, the step and build end as cancelled.
    page.wait_for_selector("#step-1-L9")
    records.append("701", 1, ["tingle: build cancelled"])
    page.wait_for_selector("#step-1-L10", timeout=5000)
    records.finish("701", BuildState.CANCELLED, StepState.CANCELLED)
    page.wait_for_selector("#build-state .state-cancelled", timeout=6000)
    page.wait_for_selector("form.restart:not([hidden])")
    assert page.locator("form.cancel").is_hidden()
    assert page.locator("#step-1 .step-state").text_content() == "cancelled"
    print("screenshot:", screenshot(page, "build-page.png"))

    assert watched.dialogs == []  # no alert() ever ran
    assert page.evaluate("window.tingleStats.duplicates") == 0
    assert watched.errors == []


def test_reconnecting_browser_gets_every_line_once(
    web: str, records: Records, watched: Watched, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server closes each event stream after a second (as a proxy or a network blip
    would); the browser reconnects with Last-Event-ID while the build keeps writing."""
    monkeypatch.setattr("tingle.web.sse.MAX_CONNECTION_SECONDS", 1.0)
    page = watched.page
    records.save(make_build("702"))
    records.append("702", 0, ["line 1"])
    page.goto(f"{web}/builds/702")
    page.wait_for_selector("#step-0-L1")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/events" in r.url else None)
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        start = records.next_line[("702", 0)]
        records.append("702", 0, [f"line {start}", f"line {start + 1}"])
        time.sleep(0.07)
    last = records.next_line[("702", 0)] - 1
    records.finish("702", BuildState.SUCCESS, StepState.SUCCESS)
    page.wait_for_selector(f"#step-0-L{last}", timeout=10_000)
    page.wait_for_selector("#build-state .state-success", timeout=6000)
    assert log_lines(page, 0) == [f"line {n}" for n in range(1, last + 1)]
    stats = page.evaluate("window.tingleStats")
    print(f"{last} lines over {len(requests)} reconnections; {stats}")
    assert len(requests) >= 3  # it did reconnect, more than once
    assert stats["duplicates"] == 0 and stats["gaps"] == 0
    assert watched.errors == [] and watched.dialogs == []


def test_page_follows_a_build_from_queued_to_done(
    web: str, records: Records, watched: Watched
) -> None:
    page = watched.page
    records.save(make_build("703", state=BuildState.QUEUED, steps=(), started_at=None))
    page.goto(f"{web}/builds/703")
    assert page.locator(".waiting").is_visible()

    # The worker compiles the plan: the page picks up the steps and the first one's lines.
    build = make_build("703", steps=(("lint", StepState.RUNNING), ("test", StepState.PENDING)))
    records.save(build)
    records.append("703", 0, ["linting"])
    page.wait_for_selector("#step-0-L1", timeout=6000)
    assert page.locator("#step-1").get_attribute("open") is None

    # The second step starts: it opens by itself and its lines stream in.
    build.steps[0].state, build.steps[1].state = StepState.SUCCESS, StepState.RUNNING
    records.save(build)
    records.append("703", 1, ["\x1b[32mtesting\x1b[0m"])
    page.wait_for_selector("#step-1-L1", timeout=6000)
    records.append("703", 1, ["1 passed"])
    page.wait_for_selector("#step-1-L2", timeout=6000)
    assert page.locator("#step-0 .step-state").text_content() == "success"

    records.finish("703", BuildState.SUCCESS, StepState.SUCCESS)
    page.wait_for_selector("#build-state .state-success", timeout=6000)
    assert log_lines(page, 1) == ["testing", "1 passed"]
    assert page.evaluate("window.tingleStats.duplicates") == 0
    assert watched.errors == []
