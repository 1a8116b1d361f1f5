"""What the home page shows first: the builds running now, then the newest builds, and the state
of each repository's default branch.

All of it from indexes (tingle.store: `running`, `builds`, each repository's branch history):
the feed reads at most `FEED_LENGTH` records and a page of repositories two records each,
however many builds there are.
"""

from __future__ import annotations

from dataclasses import dataclass

from tingle.build import Build, BuildState
from tingle.store import BuildStore

FEED_LENGTH = 20  # builds in the feed, running ones included
RUNNING_SHOWN = 10  # running builds at most at the top of the feed; the rest are counted


@dataclass(frozen=True)
class Feed:
    running: list[Build]  # newest first
    running_total: int  # how many run now (may be more than shown)
    recent: list[Build]  # the newest builds not in `running`, newest first

    @property
    def builds(self) -> list[Build]:
        return [*self.running, *self.recent]


async def home_feed(store: BuildStore, length: int = FEED_LENGTH) -> Feed:
    """Running builds first (at most `RUNNING_SHOWN`), then the newest others, `length` in all."""
    running_ids, running_total = await store.running_ids(min(RUNNING_SHOWN, length))
    newest = await store.build_ids(None, 0, length)
    shown = set(running_ids)
    recent_ids = [i for i in newest if i not in shown][: length - len(running_ids)]
    records = {b.id: b for b in await store.get_many([*running_ids, *recent_ids])}
    # A build that ended between the two reads is shown where its record says it belongs.
    running = [
        records[i] for i in running_ids if i in records and records[i].state is BuildState.RUNNING
    ]
    on_top = {b.id for b in running}
    recent = [records[i] for i in newest if i in records and i not in on_top]
    return Feed(running, running_total, recent[: length - len(running)])


async def default_branch_builds(store: BuildStore, newest: dict[str, Build]) -> dict[str, Build]:
    """For each repository (given with its newest build), the newest push build of its default
    branch, as that newest build names it: one round trip for the ids, one for the records."""
    wanted = [(repo, b.default_branch) for repo, b in newest.items() if b.default_branch]
    indexes = [store.history_key_of(repo, pr_number=None, branch=br) for repo, br in wanted]
    found = await store.newest_in_each(indexes)
    ids = {repo: build_id for (repo, _), build_id in zip(wanted, found, strict=True) if build_id}
    known = {b.id: b for b in newest.values()}  # often the newest build is that one
    records = {b.id: b for b in await store.get_many([i for i in ids.values() if i not in known])}
    records.update(known)
    return {repo: records[i] for repo, i in ids.items() if i in records}
