"""Build records, delivery de-duplication and log streams, in Redis.

Keys (all under the configured prefix, `tingle` by default):
- `build:{id}`            the build record, JSON
- `builds`                sorted set of all build ids by creation time
- `repo:{repo}:builds`    the same, per repository; `repos` holds repositories by last build time
- `delivery:{delivery}`   the build id made for a GitHub delivery (kept 7 days: GitHub lets a
                          delivery be redelivered for about 3); set by tingle.builds.admission
- `event:{key}`           the build id made for one event (tingle.builds.replays: repository, event,
                          ref, sha, action...), kept about GitHub's 3-day redelivery window: a
                          replay under a new delivery id builds nothing
- `log:{id}:{step}`       a Redis stream per step; each entry holds consecutive lines
- `cancel:{id}`           set when someone asked to cancel a build, with the reason
- `lane:{repo}:{lane}`    recent builds of one branch or pull request, which newer ones supersede
- `active`, `alive:{id}`  builds not finished yet, and a running one's heartbeat (short expiry)
- `repo:{repo}:branch:{b}`, `repo:{repo}:state:{s}`  a repository's builds by branch and by
                          state, for the filters of the build lists (a PR's: its history)
- `history:{repo}:{lane}` every build of one branch or pull request (unlike the lane, untrimmed:
                          retention keeps its newest N, tingle.archive.retention)
- `archive-due`           ended builds whose logs are still to archive, by when to try
- `expire-due`            builds retention removes before their time (past a lane's newest N)
- `running`               the builds running now, by creation time (the home page's feed)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from tingle.build import Build, BuildState

DELIVERY_TTL_SECONDS = 7 * 24 * 3600
EVENT_TTL_SECONDS = 3 * 24 * 3600 + 3600  # GitHub's redelivery window (about 3 days), and an hour
LANE_LENGTH = 50  # how many recent builds of a branch or pull request can still be superseded


@dataclass(frozen=True)
class CancelRequest:
    reason: str  # shown on the build and its status, e.g. "superseded by #12"
    superseded_by: str | None = None
    by: str | None = None  # who asked, when a person did ("an admin (API)")


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

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    async def save(self, build: Build) -> None:
        """Save `build` as its next version."""
        build.version += 1
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.key("build", build.id), json.dumps(build.to_dict()))
            pipe.zadd(self.key("builds"), {build.id: build.created_at})
            pipe.zadd(self.key("repo", build.repo, "builds"), {build.id: build.created_at})
            pipe.zadd(self.key("repos"), {build.repo: build.created_at})
            for index in self.filter_indexes(build):
                pipe.zadd(index, {build.id: build.created_at})
            for state in BuildState:
                if state is not build.state:
                    pipe.zrem(self.state_index(build.repo, state.value), build.id)
            if build.state is BuildState.RUNNING:
                pipe.zadd(self.key("running"), {build.id: build.created_at})
            else:
                pipe.zrem(self.key("running"), build.id)
            if build.state.terminal:
                pipe.srem(self.key("active"), build.id)
                if not build.logs_archived:
                    pipe.zadd(self.key("archive-due"), {build.id: build.finished_at or 0}, nx=True)
            else:
                pipe.sadd(self.key("active"), build.id)
            await pipe.execute()

    async def get(self, build_id: str) -> Build | None:
        raw = await self.redis.get(self.key("build", build_id))
        return None if raw is None else Build.from_dict(json.loads(raw))

    async def list_builds(self, repo: str | None = None, limit: int = 50) -> list[Build]:
        index = self.key("repo", repo, "builds") if repo else self.key("builds")
        ids = [as_text(i) for i in await self.redis.zrevrange(index, 0, limit - 1)]
        if not ids:
            return []
        raws = await self.redis.mget([self.key("build", i) for i in ids])
        return [Build.from_dict(json.loads(raw)) for raw in raws if raw is not None]

    def log_key(self, build_id: str, step_index: int) -> str:
        return self.key("log", build_id, str(step_index))

    async def append_log(self, build_id: str, step_index: int, first_line: int, text: str) -> str:
        """Store consecutive lines. The entry id is `<first line>-0`, so writing the same batch
        twice (a retry after a reply lost in a Redis hiccup) is refused, not stored twice."""
        entry_id = f"{first_line}-0"
        try:
            await self.redis.xadd(
                self.log_key(build_id, step_index), {"n": first_line, "t": text}, id=entry_id
            )
        except ResponseError as exc:
            if "equal or smaller" not in str(exc):
                raise
        return entry_id

    async def read_log(
        self, build_id: str, step_index: int, after: str = "-", count: int | None = None
    ) -> list[LogChunk]:
        start = after if after == "-" else f"({after}"
        entries = await self.redis.xrange(
            self.log_key(build_id, step_index), min=start, count=count
        )
        return [_chunk(entry_id, fields) for entry_id, fields in entries]

    async def request_cancel(self, build_id: str, request: CancelRequest) -> bool:
        """Ask whichever worker runs the build to stop it. False when someone asked already."""
        created = await self.redis.set(
            self.key("cancel", build_id), json.dumps(asdict(request)), ex=24 * 3600, nx=True
        )
        return bool(created)

    async def cancel_request(self, build_id: str) -> CancelRequest | None:
        raw = await self.redis.get(self.key("cancel", build_id))
        return None if raw is None else CancelRequest(**json.loads(raw))

    def lane_key(self, build: Build) -> str:
        """Builds that supersede one another: the same pull request, or the same branch."""
        return self.lane_of(build.repo, pr_number=build.pr_number, branch=build.branch)

    def lane_of(self, repo: str, *, pr_number: int | None, branch: str | None) -> str:
        return self.key("lane", repo, _lane(pr_number, branch))

    def branch_index(self, repo: str, branch: str) -> str:
        """A repository's builds of `branch` (pushes to it, and pull requests from it)."""
        return self.key("repo", repo, "branch", branch)

    def state_index(self, repo: str, state: str) -> str:
        return self.key("repo", repo, "state", state)

    def pr_index(self, repo: str, pr_number: int) -> str:
        return self.history_key_of(repo, pr_number=pr_number, branch=None)

    def filter_indexes(self, build: Build) -> list[str]:
        """The sorted sets that list `build` for the filters of the build lists (and the lane's
        history, for retention): each scored by creation time, like `builds`."""
        indexes = [self.history_key(build), self.state_index(build.repo, build.state.value)]
        if build.branch:
            indexes.append(self.branch_index(build.repo, build.branch))
        return indexes

    async def filtered_ids(
        self, primary: str, checks: list[str], offset: int, limit: int, scan_limit: int
    ) -> tuple[list[str], bool]:
        """Ids in the sorted set `primary`, newest first, that are in every set of `checks` too:
        `limit` of them from match `offset`, and whether there are more. Index reads only, at
        most `scan_limit` ids of `primary`."""
        if not checks:
            page = [as_text(i) for i in await self.redis.zrevrange(primary, offset, offset + limit)]
            return page[:limit], len(page) > limit
        matched: list[str] = []
        scanned, batch = 0, 500
        while len(matched) <= offset + limit and scanned < scan_limit:
            ids = [
                as_text(i)
                for i in await self.redis.zrevrange(primary, scanned, scanned + batch - 1)
            ]
            if not ids:
                break
            scanned += len(ids)
            async with self.redis.pipeline(transaction=False) as pipe:
                for check in checks:
                    pipe.zmscore(check, ids)
                scores = await pipe.execute()
            matched.extend(i for n, i in enumerate(ids) if all(s[n] is not None for s in scores))
        return matched[offset : offset + limit], len(matched) > offset + limit

    async def newest_in(self, index: str) -> str | None:
        ids = await self.redis.zrevrange(index, 0, 0)
        return as_text(ids[0]) if ids else None

    async def newest_in_each(self, indexes: list[str]) -> list[str | None]:
        """`newest_in` of each index, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for index in indexes:
                pipe.zrevrange(index, 0, 0)
            found = await pipe.execute()
        return [as_text(ids[0]) if ids else None for ids in found]

    async def running_ids(self, limit: int) -> tuple[list[str], int]:
        """The newest `limit` running builds, and how many run in all."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrevrange(self.key("running"), 0, limit - 1)
            pipe.zcard(self.key("running"))
            ids, total = await pipe.execute()
        return [as_text(i) for i in ids], int(total)

    def history_key(self, build: Build) -> str:
        """Every build of the build's lane, for retention's newest N per branch or PR."""
        return self.history_key_of(build.repo, pr_number=build.pr_number, branch=build.branch)

    def history_key_of(self, repo: str, *, pr_number: int | None, branch: str | None) -> str:
        return self.key("history", repo, _lane(pr_number, branch))

    async def unfinished_lane_builds(self, lane_key: str) -> list[str]:
        """The recent builds of a lane not finished yet, newest first."""
        ids = [as_text(i) for i in await self.redis.zrevrange(lane_key, 0, -1)]
        if not ids:
            return []
        active = await self.redis.smismember(self.key("active"), ids)  # type: ignore[misc]
        return [build_id for build_id, unfinished in zip(ids, active, strict=True) if unfinished]

    async def delete_logs(self, build_id: str, step_count: int) -> None:
        """Forget the logs of an attempt that did not finish, before the build runs again."""
        if step_count:
            await self.redis.delete(*(self.log_key(build_id, i) for i in range(step_count)))

    async def forget_logs(self, build_id: str, step_count: int) -> None:
        """The live logs of a build whose logs are archived now (tingle.archive.archiver)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            if step_count:
                pipe.delete(*(self.log_key(build_id, i) for i in range(step_count)))
            pipe.zrem(self.key("archive-due"), build_id)
            await pipe.execute()

    async def forget_build(self, build_id: str, build: Build | None) -> None:
        """Everything Redis holds of a build past retention, but its delivery and event keys:
        those keep their own expiry, so a redelivery of its webhook is still a duplicate."""
        steps = len(build.steps) if build else 0
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(
                self.key("build", build_id),
                self.key("cancel", build_id),
                *(self.log_key(build_id, i) for i in range(steps)),
            )
            for index in ("builds", "archive-due", "expire-due", "running"):
                pipe.zrem(self.key(index), build_id)
            if build is not None:
                for index in self.filter_indexes(build):
                    pipe.zrem(index, build_id)
                for state in BuildState:
                    pipe.zrem(self.state_index(build.repo, state.value), build_id)
                pipe.zrem(self.key("repo", build.repo, "builds"), build_id)
                pipe.zrem(self.lane_key(build), build_id)
                pipe.zcard(self.key("repo", build.repo, "builds"))
            answers = await pipe.execute()
        if build is not None and answers[-1] == 0:  # its last build: the repository goes too
            await self.redis.zrem(self.key("repos"), build.repo)

    async def heartbeat(self, build_id: str, worker: str, ttl_seconds: int) -> None:
        await self.redis.set(self.key("alive", build_id), worker, ex=ttl_seconds)

    async def is_alive(self, build_id: str) -> bool:
        return bool(await self.redis.exists(self.key("alive", build_id)))

    async def clear_heartbeat(self, build_id: str) -> None:
        await self.redis.delete(self.key("alive", build_id))

    async def active_builds(self) -> list[str]:
        """Builds not finished yet (queued or running), for the janitor."""
        members = await self.redis.smembers(self.key("active"))  # type: ignore[misc]
        return sorted(as_text(m) for m in members)

    async def forget_active(self, build_id: str) -> None:
        await self.redis.srem(self.key("active"), build_id)  # type: ignore[misc]

    async def log_text(self, build_id: str, step_index: int) -> str:
        return "\n".join(chunk.text for chunk in await self.read_log(build_id, step_index))

    # --- queries for the web view ---
    # Read-only: the pages, the JSON API, the badge and the live logs read through these.

    async def list_repos(self, offset: int = 0, limit: int = 50) -> list[str]:
        """Repositories, the most recently built first."""
        names = await self.redis.zrevrange(self.key("repos"), offset, offset + limit - 1)
        return [as_text(name) for name in names]

    async def count_repos(self) -> int:
        return int(await self.redis.zcard(self.key("repos")))

    async def count_builds(self, repo: str | None = None) -> int:
        index = self.key("repo", repo, "builds") if repo else self.key("builds")
        return int(await self.redis.zcard(index))

    async def build_ids(self, repo: str | None, offset: int, limit: int) -> list[str]:
        """Build ids, newest first: `limit` of them from position `offset`."""
        index = self.key("repo", repo, "builds") if repo else self.key("builds")
        return [as_text(i) for i in await self.redis.zrevrange(index, offset, offset + limit - 1)]

    async def get_many(self, build_ids: list[str]) -> list[Build]:
        """The records of `build_ids`, in that order; an id without a record is left out."""
        if not build_ids:
            return []
        raws = await self.redis.mget([self.key("build", i) for i in build_ids])
        return [Build.from_dict(json.loads(raw)) for raw in raws if raw is not None]

    async def latest_builds(self, repos: list[str]) -> dict[str, Build]:
        """The newest build of each repository (one round trip for the ids, one for records)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for repo in repos:
                pipe.zrevrange(self.key("repo", repo, "builds"), 0, 0)
            found = await pipe.execute()
        ids = [as_text(ids[0]) for ids in found if ids]
        return {build.repo: build for build in await self.get_many(ids)}

    async def read_log_back(
        self, build_id: str, step_index: int, before: str = "+", count: int = 16
    ) -> list[LogChunk]:
        """Up to `count` entries up to and including entry `before` ("+": the end), newest first."""
        entries = await self.redis.xrevrange(
            self.log_key(build_id, step_index), max=before, min="-", count=count
        )
        return [_chunk(entry_id, fields) for entry_id, fields in entries]

    async def wait_log(
        self, build_id: str, step_index: int, after: str, block_ms: int, count: int = 64
    ) -> list[LogChunk]:
        """Entries after entry `after` ("0-0": from the start), waiting up to `block_ms` for one."""
        key = self.log_key(build_id, step_index)
        found = await self.redis.xread({key: after}, count=count, block=block_ms)
        streams = found.items() if isinstance(found, dict) else (found or [])
        return [_chunk(entry_id, fields) for _, entries in streams for entry_id, fields in entries]

    # --- end of queries for the web view ---


def _lane(pr_number: int | None, branch: str | None) -> str:
    return f"pr:{pr_number}" if pr_number is not None else f"branch:{branch}"


def _chunk(entry_id: bytes | str, fields: dict[bytes | str, bytes | str]) -> LogChunk:
    decoded = {as_text(k): as_text(v) for k, v in fields.items()}
    return LogChunk(id=as_text(entry_id), first_line=int(decoded["n"]), text=decoded["t"])


def as_text(value: bytes | str | int) -> str:
    """A Redis reply (bytes, unless the client decodes) as text."""
    if isinstance(value, bytes):
        return value.decode()
    return str(value)
