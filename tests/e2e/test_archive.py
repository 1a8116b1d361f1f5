"""Logs archived and history expiring (issue 14, items 1 and 2), for real: signed webhooks over
HTTP, a burst worker on the Docker engine, then the janitor's archive and retention passes on the
test's Redis and a blob store folder.

What a reader gets of a step's log (JSON windows, HTML rendering, the raw text, the SSE replay of
a finished step) must be the same, byte for byte, before and after the log moved; a crash in the
middle of the move loses nothing and duplicates nothing; a build past retention is gone from
Redis and from the archive, while its webhook stays a duplicate for as long as GitHub may
redeliver it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
import pytest
import redis
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import ConnectionError as RedisConnectionError

from testing.payloads import push_payload, send
from testing.servers import serve_app
from tests.conftest import TEST_IMAGE, WEBHOOK_SECRET
from tests.e2e.test_push_to_status import record
from tingle.archive.archiver import Archiver
from tingle.archive.blobs import BlobStore
from tingle.archive.retention import Retention
from tingle.settings import Settings
from tingle.store import BuildStore
from tingle.web.app import create_app

pytestmark = pytest.mark.usefixtures("docker_client")
T = TypeVar("T")

# 3000 lines, every tenth in colour, one with a character outside ASCII; and a second step.
PRINT_SH = r"""seq 1 3000 | awk '{ if ($1 % 10 == 0) printf "\033[31mred %d\033[0m\n", $1; else print "line " $1 }'
echo 'café ☕'
"""  # noqa: E501
COLOURFUL = f"""version: 2
steps:
  - name: print
    image: {TEST_IMAGE}
    commands: [sh print.sh]
  - name: second
    image: {TEST_IMAGE}
    commands: [echo second step]
"""


def run(make: Callable[[BuildStore, BlobStore], Awaitable[T]], settings: Settings) -> T:
    async def main() -> T:
        client = AsyncRedis.from_url(settings.redis_url)
        try:
            return await make(BuildStore(client), BlobStore.open(settings.archive_url))
        finally:
            await client.aclose()

    return asyncio.run(main())


def archive_now(settings: Settings, **patches: Any) -> list[str]:
    async def go(store: BuildStore, blobs: BlobStore) -> list[str]:
        for name, value in patches.items():
            setattr(store, name, value)
        return await Archiver(store, blobs, delay_seconds=0, stream_grace_seconds=0).archive_due()

    return run(go, settings)


def everything_read(web: str, build_id: str, steps: int) -> dict[str, Any]:
    """Whatever a reader can get of each step's log."""
    got: dict[str, Any] = {}
    for step in range(steps):
        base = f"{web}/api/builds/{build_id}/steps/{step}"
        got[f"{step}/raw"] = httpx.get(f"{base}/log").text
        for query in ("tail=100", "tail=50&render=html", "line=1500&tail=40", "after=0-0"):
            window = httpx.get(f"{base}/log?format=json&{query}").json()
            got[f"{step}/{query}"] = window
            if window["before"]:  # and the page before it, as the page fetches it
                earlier = (
                    f"{base}/log?format=json&tail=100&before={window['before']['id']}"
                    f"&before_line={window['before']['line']}"
                )
                got[f"{step}/{query}/earlier"] = httpx.get(earlier).json()
        got[f"{step}/sse"] = httpx.get(f"{base}/events?after=0-0&render=html", timeout=30).text
    return got


def build_once(web: str, make_repo: Any, run_worker: Any, repo: str = "octo/logs") -> str:
    sha = make_repo(repo).commit({"build-info.yaml": COLOURFUL, "print.sh": PRINT_SH})
    answer = send(web, "push", push_payload(repo, sha), secret=WEBHOOK_SECRET)
    run_worker()
    return str(answer.json()["build_id"])


def stream_keys(settings: Settings, build_id: str) -> list[bytes]:
    return list(redis.Redis.from_url(settings.redis_url).scan_iter(f"tingle:log:{build_id}:*"))


def test_an_archived_log_reads_exactly_as_the_live_one_and_leaves_redis(
    web: str, settings: Settings, make_repo: Any, run_worker: Any
) -> None:
    build_id = build_once(web, make_repo, run_worker)
    assert record(settings, build_id)["state"] == "success"
    live = everything_read(web, build_id, 2)
    assert live["0/tail=100"]["total_lines"] == 1 + 3000 + 1  # '+ sh print.sh', the lines, café
    assert "<span" in json.dumps(live["0/tail=50&render=html"])  # the colours are there
    assert "café ☕" in live["0/raw"]
    assert len(stream_keys(settings, build_id)) == 2

    assert archive_now(settings) == [build_id]

    assert stream_keys(settings, build_id) == []  # out of Redis
    assert record(settings, build_id)["logs_archived"] is True
    assert (Path(settings.archive_url) / "logs" / build_id / "0.log").exists()
    assert everything_read(web, build_id, 2) == live  # and read the same, byte for byte
    assert archive_now(settings) == []  # nothing due any more


def test_a_crash_before_the_mark_or_before_the_delete_loses_and_duplicates_nothing(
    web: str, settings: Settings, make_repo: Any, run_worker: Any
) -> None:
    build_id = build_once(web, make_repo, run_worker)
    live = everything_read(web, build_id, 2)

    async def redis_gone(*args: Any) -> None:
        raise RedisConnectionError("Redis went away")

    # Blobs written, then Redis fails before the record says so: readers still read the streams.
    assert archive_now(settings, save=redis_gone) == []
    assert record(settings, build_id)["logs_archived"] is False
    assert everything_read(web, build_id, 2) == live
    # Marked, then Redis fails before the streams go: readers read the archive, whole.
    client = redis.Redis.from_url(settings.redis_url)
    client.zadd("tingle:archive-due", {build_id: 0})  # due again now, not after the retry delay
    assert archive_now(settings, forget_logs=redis_gone) == []
    assert record(settings, build_id)["logs_archived"] is True
    assert len(stream_keys(settings, build_id)) == 2
    assert everything_read(web, build_id, 2) == live
    # The next pass only deletes: it never archives the (now unread) streams a second time.
    client.zadd("tingle:archive-due", {build_id: 0})
    log_file = Path(settings.archive_url) / "logs" / build_id / "0.log"
    written = log_file.stat().st_mtime_ns
    assert archive_now(settings) == [build_id]
    assert log_file.stat().st_mtime_ns == written
    assert stream_keys(settings, build_id) == []
    assert everything_read(web, build_id, 2) == live


def test_a_build_past_retention_is_gone_but_its_webhook_stays_a_duplicate(
    web: str, settings: Settings, make_repo: Any, run_worker: Any
) -> None:
    sha = make_repo("octo/old").commit({"build-info.yaml": COLOURFUL, "print.sh": PRINT_SH})
    body = json.dumps(push_payload("octo/old", sha)).encode()
    first = send(web, "push", body, secret=WEBHOOK_SECRET, delivery="delivery-1")
    build_id = first.json()["build_id"]
    run_worker()
    archive_now(settings)
    archived = Path(settings.archive_url) / "logs" / build_id
    assert archived.exists()

    async def expire(store: BuildStore, blobs: BlobStore) -> list[str]:
        return await Retention(store, blobs, retention_seconds=0).expire()

    assert run(expire, settings) == [build_id]

    client = redis.Redis.from_url(settings.redis_url)
    assert not archived.exists()
    left = sorted(k.decode() for k in client.scan_iter("tingle:*"))
    # What remains of it expires by itself: the delivery and event keys (GitHub's redelivery
    # window) and the feedback GitHub was sent (two weeks).
    mentions = [k for k in left if build_id in k.split(":") or k.startswith("tingle:delivery:")]
    assert mentions and all(cast(int, client.ttl(k)) > 0 for k in mentions), mentions
    assert not [k for k in mentions if not k.startswith(("tingle:feedback:", "tingle:delivery:"))]
    for index in ("tingle:builds", "tingle:repo:octo/old:builds", "tingle:repos"):
        assert client.zcard(index) == 0, index
    assert httpx.get(f"{web}/api/builds/{build_id}").status_code == 404
    # GitHub redelivers it (same delivery id), or someone replays the body: still nothing builds.
    again = send(web, "push", body, secret=WEBHOOK_SECRET, delivery="delivery-1")
    replay = send(web, "push", body, secret=WEBHOOK_SECRET)
    assert again.json()["result"] == replay.json()["result"] == "duplicate"
    assert client.zcard("tingle:builds") == 0


def test_a_branch_keeps_its_newest_builds_and_other_branches_keep_theirs(
    settings: Settings, make_repo: Any, run_worker: Any
) -> None:
    repo = make_repo("octo/busy")
    quick = f"version: 2\nsteps:\n  - name: q\n    image: {TEST_IMAGE}\n    commands: [echo hi]\n"
    build_ids = []
    with serve_app(create_app(dataclasses.replace(settings, keep_builds_per_lane=2))) as web:
        for n, branch in enumerate(["main", "main", "other", "main"]):
            sha = repo.commit({"build-info.yaml": quick, "n.txt": str(n)})
            answer = send(
                web, "push", push_payload("octo/busy", sha, branch), secret=WEBHOOK_SECRET
            )
            build_ids.append(answer.json()["build_id"])
            run_worker()
    client = redis.Redis.from_url(settings.redis_url)
    due = cast(list[bytes], client.zrange("tingle:expire-due", 0, -1))
    assert [i.decode() for i in due] == [build_ids[0]]

    async def expire(store: BuildStore, blobs: BlobStore) -> list[str]:
        return await Retention(store, blobs, retention_seconds=3600).expire()

    assert run(expire, settings) == [build_ids[0]]
    kept = cast(list[bytes], client.zrange("tingle:repo:octo/busy:builds", 0, -1))
    assert [i.decode() for i in kept] == build_ids[1:]
    assert client.zcard("tingle:expire-due") == 0
