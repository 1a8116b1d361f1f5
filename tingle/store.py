"""Build records, delivery de-duplication and log streams, in Redis.

Keys (all under the configured prefix, `tingle` by default):
- `build:{id}`            the build record, JSON
- `builds`                sorted set of all build ids by creation time
- `repo:{repo}:builds`    the same, per repository; `repos` holds repositories by last build time
- `delivery:{delivery}`   the build id made for a GitHub delivery (kept 7 days: GitHub lets a
                          delivery be redelivered for about 3)
- `log:{id}:{step}`       a Redis stream per step; each entry holds consecutive lines
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from redis.asyncio import Redis

from tingle.build import Build

DELIVERY_TTL_SECONDS = 7 * 24 * 3600

# Claims a delivery id for a new build id in one step, so two deliveries racing (or a redelivery
# racing the original) can never make two builds.
_CLAIM_DELIVERY = """
local existing = redis.call('GET', KEYS[1])
if existing then return {existing, 0} end
local id = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], id, 'EX', ARGV[1])
return {tostring(id), 1}
"""


@dataclass(frozen=True)
class LogChunk:
    """Consecutive lines of one step's log; `id` is the Redis stream entry id (for resuming)."""

    id: str
    first_line: int
    text: str

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")


class BuildStore:
    def __init__(self, redis: Redis, prefix: str = "tingle") -> None:
        self.redis = redis
        self.prefix = prefix
        self._claim = redis.register_script(_CLAIM_DELIVERY)

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    async def claim_delivery(self, delivery_id: str) -> tuple[str, bool]:
        """The build id for this delivery, and whether it was just made (False: a redelivery)."""
        build_id, created = await self._claim(
            keys=[self.key("delivery", delivery_id), self.key("build-seq")],
            args=[DELIVERY_TTL_SECONDS],
        )
        return _text(build_id), bool(created)

    async def save(self, build: Build) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.key("build", build.id), json.dumps(build.to_dict()))
            pipe.zadd(self.key("builds"), {build.id: build.created_at})
            pipe.zadd(self.key("repo", build.repo, "builds"), {build.id: build.created_at})
            pipe.zadd(self.key("repos"), {build.repo: build.created_at})
            await pipe.execute()

    async def get(self, build_id: str) -> Build | None:
        raw = await self.redis.get(self.key("build", build_id))
        return None if raw is None else Build.from_dict(json.loads(raw))

    async def list_builds(self, repo: str | None = None, limit: int = 50) -> list[Build]:
        index = self.key("repo", repo, "builds") if repo else self.key("builds")
        ids = [_text(i) for i in await self.redis.zrevrange(index, 0, limit - 1)]
        if not ids:
            return []
        raws = await self.redis.mget([self.key("build", i) for i in ids])
        return [Build.from_dict(json.loads(raw)) for raw in raws if raw is not None]

    def log_key(self, build_id: str, step_index: int) -> str:
        return self.key("log", build_id, str(step_index))

    async def append_log(self, build_id: str, step_index: int, first_line: int, text: str) -> str:
        entry_id = await self.redis.xadd(
            self.log_key(build_id, step_index), {"n": first_line, "t": text}
        )
        return _text(entry_id)

    async def read_log(
        self, build_id: str, step_index: int, after: str = "-", count: int | None = None
    ) -> list[LogChunk]:
        start = after if after == "-" else f"({after}"
        entries = await self.redis.xrange(
            self.log_key(build_id, step_index), min=start, count=count
        )
        return [_chunk(entry_id, fields) for entry_id, fields in entries]

    async def log_text(self, build_id: str, step_index: int) -> str:
        return "\n".join(chunk.text for chunk in await self.read_log(build_id, step_index))


def _chunk(entry_id: bytes | str, fields: dict[bytes | str, bytes | str]) -> LogChunk:
    decoded = {_text(k): _text(v) for k, v in fields.items()}
    return LogChunk(id=_text(entry_id), first_line=int(decoded["n"]), text=decoded["t"])


def _text(value: bytes | str | int) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return str(value)
