"""The home page's feed in a real headless Chromium: running builds on top and marked, the
newest after them, a hostile pull request title inert text, each repository's default branch
with its last build, and a feed row leading to its build's page."""

from __future__ import annotations

import re
import time

from tests.browser.conftest import Watched, screenshot
from tests.web.records import Records, make_build
from tingle.build import BuildState, StepState

DONE = (("test", StepState.SUCCESS),)
TITLE = "<img src=x onerror=alert(1)> Fix the <b>parser</b>"


def test_home_feed_running_first_then_newest(web: str, records: Records, watched: Watched) -> None:
    page = watched.page
    now = time.time()
    records.save(make_build("11", "octo/app", BuildState.SUCCESS, DONE, created_at=now - 7200))
    records.save(make_build("12", "octo/app", BuildState.RUNNING, created_at=now - 3600))
    records.save(
        make_build("13", "octo/app", BuildState.FAILURE, DONE, created_at=now - 120,
                   event="pull_request", pr_number=5, branch="fix", base_branch="main",
                   pr_title=TITLE, commit_message="")
    )  # fmt: skip
    records.save(make_build("14", "octo/lib", BuildState.SUCCESS, DONE, created_at=now - 30))

    page.goto(f"{web}/")
    page.wait_for_selector("#feed")
    rows = page.eval_on_selector_all(
        "#feed tr[data-build]", "rows => rows.map(r => [r.className, r.dataset.build])"
    )
    assert rows == [["running", "12"], ["recent", "14"], ["recent", "13"], ["recent", "11"]]
    assert "1 running" in page.locator("#feed h1").text_content()
    colour = page.eval_on_selector(
        "#feed tr.running td", "cell => getComputedStyle(cell).borderLeftStyle"
    )
    assert colour == "solid"  # the running row is marked, not only sorted

    pr_row = page.locator("#feed tr[data-build='13']")
    assert TITLE in pr_row.text_content()  # the title is shown as text
    assert pr_row.locator("img, b").count() == 0  # and nothing of it became markup
    assert re.fullmatch(r"3\d s ago", page.locator("#feed tr[data-build='14'] time").inner_text())
    absolute = page.locator("#feed tr[data-build='14'] time").get_attribute("title")
    assert absolute is not None and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", absolute)

    default = page.locator("tr[data-repo='octo/app'] td.default-branch")
    # main's last build is the running push, not the newer pull request's
    assert re.fullmatch(r"main running #12 1 h ago", default.text_content() or "")
    print("screenshot:", screenshot(page, "home-feed.png"))

    page.click("#feed tr[data-build='12'] a[href='/builds/12']")
    page.wait_for_url(re.compile(r"/builds/12$"))
    page.wait_for_selector("#build-state .state-running")
    assert watched.dialogs == [] and watched.errors == []
