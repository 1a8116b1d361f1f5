"""Build lists and badges answer from indexes (issue 14, item 3): with thousands of builds, a
filtered page reads only the records it shows. Shown by deleting every other record body: a list
that filtered by reading records would come back short."""

from __future__ import annotations

import re
from typing import Any

import httpx
import redis

from tests.web.records import Records, make_build
from tingle.build import BuildState
from tingle.store import BuildStore


def shown(url: str) -> list[str]:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return re.findall(r"href='/builds/(\d+)'", response.text)


def test_filtered_pages_and_the_badge_read_indexes_not_records(
    web: str, records: Records, redis_url: str
) -> None:
    async def many(store: BuildStore) -> None:
        for n in range(1, 3001):
            fields: dict[str, Any] = (
                {"branch": "main"} if n % 3 else {"branch": "feature", "pr_number": 9}
            )
            state = BuildState.FAILURE if n % 7 == 0 else BuildState.SUCCESS
            build = make_build(str(n), state=state, created_at=float(n), **fields)
            build.default_branch = "main"
            await store.save(build)

    records.run(many)
    wanted = {
        "branch=main&state=failure": [str(n) for n in range(3000, 0, -1) if n % 3 and n % 7 == 0],
        "pr=9": [str(n) for n in range(3000, 0, -1) if n % 3 == 0],
        "state=failure": [str(n) for n in range(3000, 0, -1) if n % 7 == 0],
        "branch=feature&state=failure": [str(n) for n in range(3000, 0, -1) if n % 21 == 0],
    }
    client = redis.Redis.from_url(redis_url)
    keep = {i for ids in wanted.values() for i in ids[:25]} | {"3000", "2999"}
    client.delete(*[f"tingle:build:{n}" for n in range(1, 3001) if str(n) not in keep])
    for query, ids in wanted.items():
        assert shown(f"{web}/repos/octo/app?{query}") == ids[:25], query
    badge = httpx.get(f"{web}/badge/octo/app.svg", timeout=10).text
    assert "passing" in badge  # build 2999: main's newest push (3000 is the pull request's)
