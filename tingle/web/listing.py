"""A repository's builds, a page at a time, filtered by branch, pull request and state.

Unfiltered pages are a range of the repository's sorted set, and a page with one filter a range
of that filter's index (tingle.store: by branch, by state, a pull request's history). With
several filters, the most selective index is read newest first and its ids checked against the
others' (ZMSCORE), at most `SCAN_LIMIT` of them: no page reads any record but the ones it shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import QueryParams

from tingle.build import Build, BuildState
from tingle.store import BuildStore

PER_PAGE = 25
MAX_PER_PAGE = 100
SCAN_LIMIT = 5000


@dataclass(frozen=True)
class BuildFilter:
    branch: str | None = None
    pr: int | None = None
    state: str | None = None

    @classmethod
    def from_query(cls, query: QueryParams) -> BuildFilter:
        pr = query.get("pr", "").strip().lstrip("#")
        state = query.get("state", "").strip().lower()
        if pr and not pr.isdigit():
            raise ValueError("pr must be a pull request number")
        if state and state not in {s.value for s in BuildState}:
            raise ValueError(f"state must be one of {', '.join(s.value for s in BuildState)}")
        return cls(
            branch=query.get("branch", "").strip() or None,
            pr=int(pr) if pr else None,
            state=state or None,
        )

    @property
    def empty(self) -> bool:
        return self.branch is None and self.pr is None and self.state is None

    def matches(self, build: Build) -> bool:
        return (
            (self.branch is None or build.branch == self.branch)
            and (self.pr is None or build.pr_number == self.pr)
            and (self.state is None or str(build.state) == self.state)
        )


@dataclass(frozen=True)
class BuildPage:
    builds: list[Build]
    page: int
    per_page: int
    has_more: bool
    total: int | None  # known when unfiltered


def page_params(query: QueryParams) -> tuple[int, int]:
    page, per_page = query.get("page", "1"), query.get("per_page", str(PER_PAGE))
    if not page.isdigit() or int(page) < 1 or not per_page.isdigit() or int(per_page) < 1:
        raise ValueError("page and per_page must be whole numbers from 1")
    return int(page), min(int(per_page), MAX_PER_PAGE)


async def builds_page(
    store: BuildStore, repo: str, wanted: BuildFilter, page: int, per_page: int
) -> BuildPage:
    """A page of the repository's builds, from its indexes: the records of that page only."""
    offset = (page - 1) * per_page
    indexes = _indexes(store, repo, wanted)
    if not indexes:
        ids = await store.build_ids(repo, offset, per_page + 1)
        builds = await store.get_many(ids[:per_page])
        total = await store.count_builds(repo)
        return BuildPage(builds, page, per_page, len(ids) > per_page, total)
    primary, *checks = indexes
    ids, more = await store.filtered_ids(primary, checks, offset, per_page, SCAN_LIMIT)
    counted = None if checks else int(await store.redis.zcard(primary))
    return BuildPage(await store.get_many(ids), page, per_page, more, counted)


def _indexes(store: BuildStore, repo: str, wanted: BuildFilter) -> list[str]:
    """The sorted sets a filtered list reads, the most selective first."""
    indexes = []
    if wanted.pr is not None:
        indexes.append(store.pr_index(repo, wanted.pr))
    if wanted.branch is not None:
        indexes.append(store.branch_index(repo, wanted.branch))
    if wanted.state is not None:
        indexes.append(store.state_index(repo, wanted.state))
    return indexes


async def latest_on_branch(store: BuildStore, repo: str, branch: str | None) -> Build | None:
    """The newest push build of `branch` (default: the repository's default branch, as its
    newest build says): two or three index and record reads, whatever the history's size."""
    if branch is None:
        newest = await store.build_ids(repo, 0, 1)
        records = await store.get_many(newest)
        branch = records[0].default_branch if records else None
        if branch is None:
            return None
    found = await store.newest_in(store.history_key_of(repo, pr_number=None, branch=branch))
    return (await store.get_many([found]))[0] if found else None
