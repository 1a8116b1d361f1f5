"""Posts feedback to GitHub (commit statuses, the PR comment) off the build's path, in order, and
catches up after GitHub failures.

For each status (build, context) and each pull request's comment, Redis holds the *desired*
value and the *posted* one. `publish_*` writes the desired value and marks it due in a sorted set,
in one round trip, then starts a sync in the background: the build never waits for GitHub. A sync
posts under a lock when desired and posted differ, so two processes reporting one build can never
leave GitHub showing an older state, and only the latest value wanted is posted. Each post first
takes a token from the write budget all processes share. A retryable failure (5xx, no answer,
rate limit) stays due, with backoff; the worker's janitor calls `sweep()`, so feedback catches up
even after a restart. Without GitHub clients, values are recorded and wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import structlog
from redis.asyncio import Redis

from tingle import metrics
from tingle.forge.auth import GitHubClients
from tingle.forge.feedback_keys import feedback_due_key
from tingle.forge.github import GitHubError
from tingle.forge.statuses import CommitStatus
from tingle.forge.writebudget import WriteBudget, identity_for
from tingle.store import as_text

log = structlog.get_logger(__name__)

# Records desired values as due, in one round trip. KEYS: the build's contexts set (or ""), the due
# set. ARGV: ttl, now, n contexts, the n contexts, then (key, desired key, desired value, version
# key, version) for each wanted key. A value older than the one desired (a lower build version) is
# left out: two processes publishing one build never make GitHub go back. Version "" always wins.
_WANT = """
local ttl, now, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
if n > 0 then
  redis.call('SADD', KEYS[1], unpack(ARGV, 4, 3 + n))
  redis.call('EXPIRE', KEYS[1], ttl)
end
for i = 4 + n, #ARGV, 5 do
  local version = tonumber(ARGV[i + 4])
  local current = tonumber(redis.call('GET', ARGV[i + 3]) or '-1')
  if version == nil or version >= current then
    redis.call('SET', ARGV[i + 1], ARGV[i + 2], 'EX', ttl)
    if version ~= nil then redis.call('SET', ARGV[i + 3], version, 'EX', ttl) end
    redis.call('ZADD', KEYS[2], now, ARGV[i])
  end
end
return 0
"""

KEY_TTL_SECONDS = 14 * 24 * 3600
MAX_BACKOFF_SECONDS = 600.0


@dataclass(frozen=True)
class Target:
    """Where feedback goes: the build's repository, commit and App installation."""

    build_id: str
    repo: str
    sha: str
    installation_id: int | None = None
    pr_number: int | None = None


class FeedbackPublisher:
    def __init__(
        self,
        redis: Redis,
        clients: GitHubClients | None,
        *,
        prefix: str = "tingle",
        budget: WriteBudget | None = None,
    ):
        self._redis = redis
        self._clients = clients
        self._prefix = prefix
        self._budget = budget  # None: no spacing between writes
        self._tasks: set[asyncio.Task[bool]] = set()
        self._want = redis.register_script(_WANT)

    # --- what callers use ---------------------------------------------------------------------

    async def publish_statuses(
        self, target: Target, statuses: list[CommitStatus], version: int | None = None
    ) -> None:
        """Make `statuses` the ones GitHub should show, unless statuses of a later `version` of the
        build are wanted already; they are posted in the background."""
        if not statuses:
            return
        wanted = {
            self._key("status", target.build_id, status.context): {
                "kind": "status", "target": asdict(target), "status": asdict(status)
            }
            for status in statuses
        }  # fmt: skip
        contexts = [s.context for s in statuses]
        await self._record(wanted, self._key("contexts", target.build_id), contexts, version)
        self._post_soon(wanted.keys())

    async def contexts(self, build_id: str) -> set[str]:
        """Every status context ever published for the build, by any process."""
        members = await self._redis.smembers(self._key("contexts", build_id))  # type: ignore[misc]
        return {as_text(m) for m in members}

    async def publish_comment(self, target: Target, body: str) -> None:
        """Make `body` the pull request's Tingle comment, unless a newer build's is there."""
        assert target.pr_number is not None
        key = self._key("comment", target.repo, str(target.pr_number))
        current = await self._redis.get(self._desired(key))
        if current is not None and _newer(json.loads(current)["target"]["build_id"], target):
            return  # an older build finishing late never overwrites the newest one's comment
        wanted = {key: {"kind": "comment", "target": asdict(target), "body": body}}
        await self._record(wanted)
        self._post_soon(wanted.keys())

    async def forget_statuses(self, build_id: str, *, settled_only: bool) -> int:
        """Drop what Redis keeps of a build's commit statuses (they would live `KEY_TTL_SECONDS`):
        with `settled_only`, only those GitHub has (or refused for good), so one still to post is
        kept until it is; otherwise all (the build itself is gone). The contexts left."""
        contexts = sorted(await self.contexts(build_id))
        keys = [self._key("status", build_id, context) for context in contexts]
        if not keys:
            return 0
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.mget(self._desired(key), self._posted(key))
                pipe.zscore(self.due_key, key)
            answers = await pipe.execute()
        done = [
            (context, key)
            for context, key, (desired, posted), due in zip(
                contexts, keys, answers[0::2], answers[1::2], strict=True
            )
            if not settled_only or desired is None or desired == posted or due is None
        ]
        async with self._redis.pipeline(transaction=True) as pipe:
            for context, key in done:
                pipe.delete(self._desired(key), self._posted(key), f"{key}:version")
                pipe.zrem(self.due_key, key)
                pipe.hdel(self._key("attempts"), key)
                pipe.srem(self._key("contexts", build_id), context)
            await pipe.execute()
        return len(contexts) - len(done)

    async def sweep(self) -> int:
        """Sync everything due (failed earlier, or published by a process that died)."""
        due = await self._redis.zrangebyscore(self.due_key, "-inf", time.time())
        done = 0
        for raw in due:
            done += await self.sync(as_text(raw))
        return done

    async def wait_below(self, syncs: int) -> None:
        """Wait until fewer than `syncs` posts are in flight (back-pressure for a caller with many
        to publish)."""
        while len(self._tasks) >= syncs:
            await asyncio.wait(list(self._tasks), return_when=asyncio.FIRST_COMPLETED)

    async def drain(self, seconds: float = 10.0) -> None:
        """Wait for background syncs (at shutdown); what is left stays due for `sweep`."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=seconds)

    # --- the machinery --------------------------------------------------------------------------

    async def _record(
        self,
        wanted: dict[str, dict[str, Any]],
        contexts_key: str = "",
        contexts: Sequence[str] = (),
        version: int | None = None,
    ) -> None:
        """Record each key's desired value as due (unless a later version's is)."""
        args: list[str | float | int] = [KEY_TTL_SECONDS, time.time(), len(contexts), *contexts]
        for key, desired in wanted.items():
            encoded = json.dumps(desired, sort_keys=True)
            args += [key, self._desired(key), encoded, f"{key}:version", _or_empty(version)]
        await self._want(keys=[contexts_key, self.due_key], args=args)

    def _post_soon(self, keys: Iterable[str]) -> None:
        if self._clients is None:
            return
        for key in keys:
            task = asyncio.create_task(self.sync(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @property
    def due_key(self) -> str:
        return feedback_due_key(self._prefix)

    async def sync(self, key: str) -> bool:
        """Post the desired value of `key` unless GitHub has it. True when GitHub is up to date."""
        if self._clients is None:
            return False
        try:
            async with self._redis.lock(self._key("lock", key), timeout=180):
                return await self._sync_locked(key)
        except Exception:  # never raised into a build; the entry stays due
            log.exception("feedback sync failed", key=key)
            return False

    async def _sync_locked(self, key: str) -> bool:
        desired, posted = await self._redis.mget(self._desired(key), self._posted(key))
        if desired is None or desired == posted:
            await self._redis.zrem(self.due_key, key)
            return True
        data = json.loads(desired)
        target = Target(**data["target"])
        assert self._clients is not None
        client = self._clients.for_build(target.installation_id)
        operation = "create_status" if data["kind"] == "status" else "upsert_pr_comment"
        if self._budget is not None:
            waited = await self._budget.acquire(identity_for(target.installation_id))
            metrics.observe_github_write_wait(waited)
        try:
            if data["kind"] == "status":
                status = CommitStatus(**data["status"])
                await asyncio.to_thread(
                    client.create_status, target.repo, target.sha, state=status.state,
                    target_url=status.target_url, description=status.description,
                    context=status.context,
                )  # fmt: skip
            else:
                await self._post_comment(client, key, target, data["body"])
        except GitHubError as exc:
            metrics.observe_github_call(operation, error=exc, remaining=client.rate_limit_remaining)
            return await self._failed(key, exc)
        metrics.observe_github_call(operation, remaining=client.rate_limit_remaining)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._posted(key), desired, ex=KEY_TTL_SECONDS)
            pipe.zrem(self.due_key, key)
            pipe.hdel(self._key("attempts"), key)
            await pipe.execute()
        log.info("feedback posted", key=key, build_id=target.build_id)
        return True

    async def _post_comment(self, client: Any, key: str, target: Target, body: str) -> None:
        id_key = self._key("comment-id", key)
        known = await self._redis.get(id_key)
        comment_id = await asyncio.to_thread(
            client.upsert_pr_comment, target.repo, target.pr_number, body,
            int(known) if known else None,
        )  # fmt: skip
        await self._redis.set(id_key, comment_id, ex=KEY_TTL_SECONDS)

    async def _failed(self, key: str, exc: GitHubError) -> bool:
        if not exc.retryable:  # 401 after a refresh, 404, 422: trying again changes nothing
            log.error("feedback refused by GitHub", key=key, error=str(exc), status=exc.status)
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zrem(self.due_key, key)
                pipe.hdel(self._key("attempts"), key)
                await pipe.execute()
            return False
        attempts = int(await self._redis.hincrby(self._key("attempts"), key, 1))  # type: ignore[misc]
        wait = exc.retry_after or min(2.0**attempts, MAX_BACKOFF_SECONDS)
        await self._redis.zadd(self.due_key, {key: time.time() + wait})
        log.warning("feedback not posted; will retry", key=key, error=str(exc), in_seconds=wait)
        return False

    def _key(self, *parts: str) -> str:
        return ":".join((self._prefix, "feedback", *parts))

    def _desired(self, key: str) -> str:
        return f"{key}:desired"

    def _posted(self, key: str) -> str:
        return f"{key}:posted"


def _or_empty(version: int | None) -> str | int:
    return "" if version is None else version


def _newer(build_id: str, target: Target) -> bool:
    """Is `build_id` newer than the target's build? Build ids are increasing integers."""
    with contextlib.suppress(ValueError):
        return int(build_id) > int(target.build_id)
    return False
