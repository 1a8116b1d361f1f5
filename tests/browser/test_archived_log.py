"""An archived step log looks the same in Chromium as the live one (issue 14): the same lines,
the same `#step-N-L<line>` anchors, the same colours, the same paging of earlier lines and
deep links, and the same raw text; and a page opened before the move keeps paging after it.

The log is written as a worker writes it (tests/web/records.py), in entries of uneven sizes, so
that every window the page asks for starts and ends inside entries, which is where an archived
log's byte ranges and a live stream's entry ids could disagree.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx

from tests.browser.conftest import Watched
from tests.web.records import Records, make_build
from tingle.archive.archiver import Archiver
from tingle.archive.blobs import BlobStore
from tingle.build import BuildState, StepState
from tingle.settings import Settings
from tingle.store import BuildStore

BUILD = "901"
TOTAL = 14_000  # more than one tail (1,000) and two "earlier" pages (5,000 each)
NON_ASCII = {1500, 13_990}  # one a deep link lands on, one in the first tail shown
BLANK = 7777
ENTRY_SIZES = (1, 7, 50, 333, 120, 2, 611)  # lines per stream entry, in turn
# 1500 is further above the tail than the page loads in one go (it asks for a window around
# the line); 12000 is near enough that the page loads earlier lines down to it.
DEEP_LINKS = (1500, 12_000)
SGR = re.compile(r"\x1b\[[0-9;]*m")

COLLECT = """step => {
  const root = document.getElementById("step-" + step);
  const rows = [...root.querySelectorAll(".log .l")].map(row => {
    const number = row.querySelector("a.n");
    return [row.id, number.getAttribute("href"), number.textContent,
            row.querySelector(".t").textContent, row.classList.contains("hl")];
  });
  const spans = [...root.querySelectorAll(".log .l .t span")].map(span => {
    const style = getComputedStyle(span);
    return [span.closest(".l").id, span.textContent, span.className,
            span.getAttribute("style") || "", style.color, style.backgroundColor,
            style.fontWeight];
  });
  return {
    rows: rows,
    spans: spans,
    gaps: [...root.querySelectorAll(".log .gap")].map(gap => [gap.hidden, gap.textContent]),
    count: root.querySelector(".log-count").textContent,
    tools: [...root.querySelectorAll(".log-tools a")]
      .map(a => [a.textContent, a.getAttribute("href")]),
  };
}"""

IN_VIEW = """id => {
  const box = document.getElementById(id).getBoundingClientRect();
  return box.top >= 0 && box.bottom <= window.innerHeight;
}"""


def line(n: int) -> str:
    if n in NON_ASCII:
        return f"café ☕ naïve — 日本語 ✓ {n}"
    if n == BLANK:
        return ""
    if n % 10 == 0:  # a base colour: a class (a-c1)
        return f"\x1b[31mred {n}\x1b[0m and plain"
    if n % 10 == 5:  # bold, a 256-colour foreground (a style), a background with a foreground
        return f"\x1b[1;33mWARN\x1b[0m {n} \x1b[38;5;208morange\x1b[0m \x1b[42;30mok\x1b[0m"
    if n % 97 == 0:  # 24-bit colour, reset by a bare `ESC[m`
        return f"\x1b[38;2;10;200;30mrgb {n}\x1b[m"
    return f"line {n} <b>&amp;</b>"  # markup in a log is text


def write_log(records: Records) -> list[str]:
    lines = [line(n) for n in range(1, TOTAL + 1)]
    batches: list[list[str]] = []
    start = 0
    while start < len(lines):
        size = ENTRY_SIZES[len(batches) % len(ENTRY_SIZES)]
        batches.append(lines[start : start + size])
        start += size
    records.append_many(BUILD, 0, batches)
    return lines


def collect(page: Any) -> dict[str, Any]:
    seen: dict[str, Any] = page.evaluate(COLLECT, 0)
    return seen


def first_shown(page: Any) -> int:
    first: str = page.locator("#step-0 .log .l").first.get_attribute("id")
    return int(first.rsplit("L", 1)[1])


def page_back_to_the_start(page: Any) -> None:
    """Click "show earlier lines" until line 1 is on the page."""
    while (first := first_shown(page)) > 1:
        page.locator("#step-0 .log .gap:not([hidden])").first.click()
        page.wait_for_selector(f"#step-0-L{max(1, first - 5000)}")


def everything_shown(page: Any, web: str) -> dict[str, Any]:
    """What the page shows of the step: the tail as opened, the whole log paged back to its
    start, and each deep link (with whether its line is highlighted and scrolled into view)."""
    seen: dict[str, Any] = {}
    page.goto(f"{web}/builds/{BUILD}")
    page.wait_for_selector(f"#step-0-L{TOTAL}")
    seen["tail"] = collect(page)
    page_back_to_the_start(page)
    seen["whole"] = collect(page)
    for target in DEEP_LINKS:
        # A query of its own: a change of the hash alone would not load the page again.
        page.goto(f"{web}/builds/{BUILD}?link={target}#step-0-L{target}")
        page.wait_for_selector(f"#step-0-L{target}.hl")
        seen[f"L{target}"] = collect(page)
        seen[f"L{target}/in view"] = page.evaluate(IN_VIEW, f"step-0-L{target}")
    return seen


def raw_as_shown(page: Any, web: str) -> str:
    """The raw log as Chromium shows it, by following the step's "raw" link."""
    page.goto(f"{web}/builds/{BUILD}")
    page.locator("#step-0 .log-tools a", has_text=re.compile("^raw$")).click()
    page.wait_for_url(re.compile(rf"/api/builds/{BUILD}/steps/0/log$"))
    shown: str = page.locator("body pre").text_content()
    return shown


def raw_bytes(web: str) -> tuple[bytes, bytes, str]:
    base = f"{web}/api/builds/{BUILD}/steps/0/log"
    download = httpx.get(f"{base}?download=1", timeout=60)
    return (
        httpx.get(base, timeout=60).content,
        download.content,
        download.headers["content-disposition"],
    )


def test_an_archived_log_looks_the_same_as_the_live_one(
    web: str, records: Records, watched: Watched, settings: Settings
) -> None:
    page: Any = watched.page
    # The raw log is a text/plain document with no <link rel=icon>, so Chromium asks for
    # /favicon.ico, which Tingle does not serve; its 404 would read as a page error below.
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    records.save(
        make_build(
            BUILD,
            state=BuildState.FAILURE,
            steps=(("build", StepState.FAILURE),),
            finished_at=time.time() - 1,
        )
    )
    lines = write_log(records)

    async def due_and_alive(store: BuildStore) -> tuple[float | None, bool]:
        return await store.redis.zscore(store.key("archive-due"), BUILD), await store.is_alive(
            BUILD
        )

    due, alive = records.run(due_and_alive)
    assert due is not None and not alive  # ended, no worker winding it up: the archiver takes it

    # A page opened while the log is live, kept open across the move, showing only the tail.
    early = Watched(page.context.new_page())
    early.page.goto(f"{web}/builds/{BUILD}")
    early.page.wait_for_selector(f"#step-0-L{TOTAL}")

    live = everything_shown(page, web)
    live_raw = raw_as_shown(page, web), raw_bytes(web)

    # What the live page shows is the log as written, so that "the same after" means right too.
    whole = live["whole"]
    assert [row[0] for row in whole["rows"]] == [f"step-0-L{n}" for n in range(1, TOTAL + 1)]
    assert [row[1] for row in whole["rows"]] == [f"#step-0-L{n}" for n in range(1, TOTAL + 1)]
    assert [row[3] for row in whole["rows"]] == [SGR.sub("", text) for text in lines]
    assert whole["count"] == f"{TOTAL:,} of {TOTAL:,} lines"
    assert [row[0] for row in live["tail"]["rows"]] == [
        f"step-0-L{n}" for n in range(TOTAL - 999, TOTAL + 1)
    ]
    assert live["tail"]["gaps"][0] == [
        False,
        f"Show 5,000 earlier lines ({TOTAL - 1000:,} not shown)",
    ]
    red = [span for span in whole["spans"] if span[0] == "step-0-L10"]
    assert red == [
        ["step-0-L10", "red 10", "a-c1", "", "rgb(255, 123, 114)", "rgba(0, 0, 0, 0)", "400"]
    ]
    warn = [span[1:] for span in whole["spans"] if span[0] == "step-0-L15"]
    assert [(text, classes, style) for text, classes, style, *_ in warn] == [
        ("WARN", "a-b a-c3", ""),
        ("orange", "", "color:#ff8700"),
        ("ok", "a-c0 a-bg-c2", ""),
    ]
    assert warn[0][5] == "700" and warn[2][4] == "rgb(63, 185, 80)"  # bold; green behind
    for target in DEEP_LINKS:
        shown = live[f"L{target}"]
        assert [row[0] for row in shown["rows"] if row[4]] == [f"step-0-L{target}"]
        assert [row[3] for row in shown["rows"] if row[4]] == [SGR.sub("", line(target))]
        assert live[f"L{target}/in view"] is True
    assert live_raw[0] == "\n".join(lines)
    assert live_raw[1][0] == live_raw[1][1] == "\n".join(lines).encode()

    archived = records.run(
        lambda store: Archiver(
            store, BlobStore.open(settings.archive_url), delay_seconds=0, stream_grace_seconds=0
        ).archive_due()
    )
    assert archived == [BUILD]

    async def after_the_move(store: BuildStore) -> tuple[int, float | None]:
        return await store.redis.exists(store.log_key(BUILD, 0)), await store.redis.zscore(
            store.key("archive-due"), BUILD
        )

    assert records.run(after_the_move) == (0, None)  # the stream is gone, nothing is due
    assert records.get(BUILD).logs_archived is True
    # The web app reads the archive this test's settings point at, not some default folder.
    assert (Path(settings.archive_url) / "logs" / BUILD / "0.log").stat().st_size == len(
        live_raw[1][0]
    )

    # The page opened before the move pages back with the cursors the live log gave it.
    page_back_to_the_start(early.page)
    assert collect(early.page) == live["whole"]

    assert everything_shown(page, web) == live
    assert (raw_as_shown(page, web), raw_bytes(web)) == live_raw
    assert watched.errors == [] and watched.dialogs == []
    assert early.errors == [] and early.dialogs == []
