"""Everything a build leaves where someone could read it: every key in Redis (records, logs,
notices), the pages and API answers about it, and what the GitHub fake was sent. A test that a
value leaked nowhere searches this text."""

from __future__ import annotations

from typing import Any, cast

import httpx
import redis

from tingle.settings import Settings


def everything_visible(
    web: str, settings: Settings, fake_github: Any, repo: str, sha: str, build_ids: list[str]
) -> str:
    parts = [_redis_dump(settings.redis_url)]
    with httpx.Client(base_url=web, timeout=10) as http:
        paths = ["/", f"/repos/{repo}", "/api/repos", f"/api/repos/{repo}/builds"]
        for build_id in build_ids:
            paths += [f"/builds/{build_id}", f"/api/builds/{build_id}"]
            paths += [f"/api/builds/{build_id}/steps"]
            paths += [f"/api/builds/{build_id}/steps/{step}/log" for step in range(4)]
        parts += [http.get(path).text for path in paths]
    parts += [repr(status) for status in fake_github.statuses(repo, sha)]
    return "\n".join(parts)


def _redis_dump(url: str) -> str:
    client = redis.Redis.from_url(url)
    found: list[str] = []
    for key in client.scan_iter(count=1000):
        kind = cast(bytes, client.type(key)).decode()
        value: object
        if kind == "string":
            value = client.get(key)
        elif kind == "stream":
            value = client.xrange(key)
        elif kind == "hash":
            value = client.hgetall(key)
        elif kind == "list":
            value = client.lrange(key, 0, -1)
        elif kind == "set":
            value = client.smembers(key)
        elif kind == "zset":
            value = client.zrange(key, 0, -1, withscores=True)
        else:
            value = kind
        found.append(f"{key!r}: {value!r}")
    client.close()
    return "\n".join(found)
