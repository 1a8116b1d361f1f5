"""The home page's feed (running builds first, then the newest, bounded) and each repository's
default-branch state, on real HTTP; and that both read indexes, not every record."""

from __future__ import annotations

import re
from typing import Any, cast

import httpx
import redis

from tests.web.records import Records, make_build
from tingle.build import BuildState, StepState
from tingle.store import BuildStore
from tingle.web.feed import FEED_LENGTH, RUNNING_SHOWN

DONE = (("test", StepState.SUCCESS),)


def home(web: str) -> str:
    response = httpx.get(f"{web}/", timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def feed_rows(page: str) -> list[tuple[str, str]]:
    """(row class, build id) of each feed row, in order."""
    feed = page.split("<section class='feed' id='feed'>")[1].split("</section>")[0]
    return re.findall(r"<tr class='(running|recent)' data-build='(\d+)'>", feed)


def repo_row(page: str, repo: str) -> str:
    return page.split(f"<tr data-repo='{repo}'>")[1].split("</tr>")[0]


def test_running_builds_come_first_then_the_newest_others(web: str, records: Records) -> None:
    for n in range(1, 31):
        state = BuildState.RUNNING if n in (3, 7) else BuildState.SUCCESS
        records.save(make_build(str(n), state=state, steps=DONE, created_at=1000.0 + n))
    rows = feed_rows(home(web))
    assert rows[:2] == [("running", "7"), ("running", "3")]  # old, but running: on top
    assert [i for _, i in rows[2:]] == [str(n) for n in range(30, 0, -1) if n not in (3, 7)][
        : FEED_LENGTH - 2
    ]
    assert len(rows) == FEED_LENGTH
    records.finish("7", BuildState.FAILURE, StepState.FAILURE)
    assert ("running", "7") not in feed_rows(home(web))  # ended: off the top


def test_the_running_top_is_bounded_and_the_rest_counted(web: str, records: Records) -> None:
    total = RUNNING_SHOWN + 5
    for n in range(1, total + 1):
        records.save(make_build(str(n), created_at=float(n)))  # all running
    page = home(web)
    rows = feed_rows(page)
    assert [c for c, _ in rows].count("running") == RUNNING_SHOWN
    assert f"{total} running" in page and "and 5 more running" in page
    # The five below the top are still in the feed, by age, with their state on them.
    assert [i for _, i in rows[RUNNING_SHOWN:]] == ["5", "4", "3", "2", "1"]
    assert page.split("data-build='1'>")[1].count("state-running") >= 1


def test_each_repository_shows_its_default_branchs_last_build(web: str, records: Records) -> None:
    records.save(make_build("1", "octo/app", BuildState.FAILURE, DONE, created_at=10.0))
    records.save(make_build("2", "octo/app", BuildState.SUCCESS, DONE, created_at=20.0))
    records.save(  # the newest is a pull request: not the default branch's state
        make_build("3", "octo/app", BuildState.FAILURE, DONE, created_at=30.0,
                   event="pull_request", pr_number=4, branch="feature", base_branch="main")
    )  # fmt: skip
    records.save(  # a repository whose default branch is `trunk`, built only on a branch
        make_build("4", "octo/lib", BuildState.SUCCESS, DONE, created_at=25.0,
                   branch="wip", ref="refs/heads/wip", default_branch="trunk")
    )  # fmt: skip
    records.save(make_build("5", "octo/old", BuildState.SUCCESS, DONE, default_branch=None))
    page = home(web)
    app = repo_row(page, "octo/app")
    assert re.search(r"<code>main</code> <span class='state state-success'>.*/builds/2'", app)
    assert "href='/builds/3'" in app  # the newest build still has its columns
    assert "<code>trunk</code> not built" in repo_row(page, "octo/lib")
    assert "<td class='default-branch'>unknown</td>" in repo_row(page, "octo/old")

    listed = httpx.get(f"{web}/api/repos", timeout=10).json()["items"]
    by_repo = {item["repo"]: item for item in listed}
    assert by_repo["octo/app"]["default_branch"] == "main"
    assert by_repo["octo/app"]["default_branch_latest"]["id"] == "2"
    assert by_repo["octo/app"]["latest"]["id"] == "3"
    assert by_repo["octo/lib"]["default_branch_latest"] is None


def test_the_feed_api_marks_the_running_ones(web: str, records: Records) -> None:
    records.save(make_build("1", state=BuildState.RUNNING, created_at=1.0))
    records.save(make_build("2", state=BuildState.SUCCESS, steps=DONE, created_at=2.0))
    answer = httpx.get(f"{web}/api/feed", timeout=10).json()
    assert [(i["id"], i["on_top"], i["state"]) for i in answer["items"]] == [
        ("1", True, "running"),
        ("2", False, "success"),
    ]
    assert answer["running_total"] == 1


def test_an_empty_store_shows_no_feed(web: str) -> None:
    page = home(web)
    assert "id='feed'" not in page and "No builds yet" in page


def test_the_home_page_reads_indexes_not_records(
    web: str, records: Records, redis_url: str
) -> None:
    """3,000 builds over 30 repositories: the page reads the feed's records and two a repository
    (its newest and its default branch's), counted by Redis's own keyspace statistics."""

    async def many(store: BuildStore) -> None:
        for n in range(1, 3001):
            state = BuildState.RUNNING if n % 500 == 0 else BuildState.SUCCESS
            branch = "main" if n % 4 else "feature"
            await store.save(
                make_build(str(n), f"octo/r{n % 30}", state, DONE, created_at=float(n),
                           branch=branch, ref=f"refs/heads/{branch}")
            )  # fmt: skip

    records.run(many)
    client = redis.Redis.from_url(redis_url)

    def keys_read() -> int:
        stats = cast(dict[str, Any], client.info("stats"))
        return int(stats["keyspace_hits"]) + int(stats["keyspace_misses"])

    before = keys_read()
    page = home(web)
    read = keys_read() - before
    rows = feed_rows(page)
    assert rows[:6] == [("running", str(n)) for n in (3000, 2500, 2000, 1500, 1000, 500)]
    assert len(rows) == FEED_LENGTH
    assert len(re.findall(r"<tr data-repo='", page)) == 30
    # Indexes and records together: the feed (running, builds, 20 records), 30 newest ids and
    # records, 30 default-branch ids and at most 30 more records; nowhere near 3,000.
    assert read < 250, read
    print(f"home page over 3,000 builds: {read} keys read")
