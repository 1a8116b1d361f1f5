"""A repository's builds, a page at a time, filtered by branch, pull request and state.

Unfiltered pages are a range of the repository's sorted set. Filtered pages read records newest
first in batches and keep the matches, reading at most `SCAN_LIMIT` records: the filters are for
finding recent builds, and a page never costs more than that.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import QueryParams

from tingle.build import Build, BuildState
from tingle.store import BuildStore

PER_PAGE = 25
MAX_PER_PAGE = 100
SCAN_BATCH = 200
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
    offset = (page - 1) * per_page
    if wanted.empty:
        ids = await store.build_ids(repo, offset, per_page + 1)
        builds = await store.get_many(ids[:per_page])
        total = await store.count_builds(repo)
        return BuildPage(builds, page, per_page, len(ids) > per_page, total)
    found: list[Build] = []
    scanned = 0
    while scanned < SCAN_LIMIT and len(found) < offset + per_page + 1:
        ids = await store.build_ids(repo, scanned, SCAN_BATCH)
        if not ids:
            break
        scanned += len(ids)
        found.extend(b for b in await store.get_many(ids) if wanted.matches(b))
    window = found[offset : offset + per_page]
    return BuildPage(window, page, per_page, len(found) > offset + per_page, None)


async def latest_on_branch(store: BuildStore, repo: str, branch: str | None) -> Build | None:
    """The newest push build of `branch` (default: the repository's default branch)."""
    scanned = 0
    while scanned < SCAN_LIMIT:
        ids = await store.build_ids(repo, scanned, SCAN_BATCH)
        if not ids:
            return None
        scanned += len(ids)
        for build in await store.get_many(ids):
            target = branch or build.default_branch
            if build.pr_number is None and target is not None and build.branch == target:
                return build
    return None
