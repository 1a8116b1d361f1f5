"""Posts feedback to GitHub (commit statuses, the PR comment) off the build's path, in order, and
catches up after GitHub failures.

For each status (build, context) and each pull request's comment, Redis holds the *desired*
value and the *posted* one. `publish_*` writes the desired value, marks it due in a sorted set, and
starts a sync in the background: the build never waits for GitHub. A sync posts under a lock when
desired and posted differ, so two processes reporting one build can never leave GitHub showing an
older state. A retryable failure (5xx, no answer, rate limit) stays due, with backoff; the
worker's janitor calls `sweep()`, so feedback catches up even after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

import structlog
from redis.asyncio import Redis

from tingle import metrics
from tingle.forge.auth import GitHubClients
from tingle.forge.github import GitHubError
from tingle.forge.statuses import CommitStatus

log = structlog.get_logger(__name__)

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
    def __init__(self, redis: Redis, clients: GitHubClients | None, *, prefix: str = "tingle"):
        self._redis = redis
        self._clients = clients
        self._prefix = prefix
        self._tasks: set[asyncio.Task[bool]] = set()

    # --- what callers use ---------------------------------------------------------------------

    async def publish_statuses(self, target: Target, statuses: list[CommitStatus]) -> None:
        """Make `statuses` the ones GitHub should show; post them in the background."""
        if statuses:
            contexts = self._key("contexts", target.build_id)
            await self._redis.sadd(contexts, *(s.context for s in statuses))  # type: ignore[misc]
            await self._redis.expire(contexts, KEY_TTL_SECONDS)
        for status in statuses:
            key = self._key("status", target.build_id, status.context)
            desired = {"kind": "status", "target": asdict(target), "status": asdict(status)}
            await self._want(key, desired)

    async def contexts(self, build_id: str) -> set[str]:
        """Every status context ever published for the build, by any process."""
        members = await self._redis.smembers(self._key("contexts", build_id))  # type: ignore[misc]
        return {m.decode() if isinstance(m, bytes) else str(m) for m in members}

    async def publish_comment(self, target: Target, body: str) -> None:
        """Make `body` the pull request's Tingle comment, unless a newer build's is there."""
        assert target.pr_number is not None
        key = self._key("comment", target.repo, str(target.pr_number))
        current = await self._redis.get(self._desired(key))
        if current is not None and _newer(json.loads(current)["target"]["build_id"], target):
            return  # an older build finishing late never overwrites the newest one's comment
        await self._want(key, {"kind": "comment", "target": asdict(target), "body": body})

    async def sweep(self) -> int:
        """Sync everything due (failed earlier, or published by a process that died)."""
        due = await self._redis.zrangebyscore(self._key("due"), "-inf", time.time())
        done = 0
        for raw in due:
            done += await self.sync(raw.decode() if isinstance(raw, bytes) else str(raw))
        return done

    async def drain(self, seconds: float = 10.0) -> None:
        """Wait for background syncs (at shutdown); what is left stays due for `sweep`."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=seconds)

    # --- the machinery --------------------------------------------------------------------------

    async def _want(self, key: str, desired: dict[str, Any]) -> None:
        encoded = json.dumps(desired, sort_keys=True)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._desired(key), encoded, ex=KEY_TTL_SECONDS)
            pipe.zadd(self._key("due"), {key: time.time()})
            await pipe.execute()
        if self._clients is not None:
            task = asyncio.create_task(self.sync(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

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
            await self._redis.zrem(self._key("due"), key)
            return True
        data = json.loads(desired)
        target = Target(**data["target"])
        assert self._clients is not None
        client = self._clients.for_build(target.installation_id)
        operation = "create_status" if data["kind"] == "status" else "upsert_pr_comment"
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
            pipe.zrem(self._key("due"), key)
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
                pipe.zrem(self._key("due"), key)
                pipe.hdel(self._key("attempts"), key)
                await pipe.execute()
            return False
        attempts = int(await self._redis.hincrby(self._key("attempts"), key, 1))  # type: ignore[misc]
        wait = exc.retry_after or min(2.0**attempts, MAX_BACKOFF_SECONDS)
        await self._redis.zadd(self._key("due"), {key: time.time() + wait})
        log.warning("feedback not posted; will retry", key=key, error=str(exc), in_seconds=wait)
        return False

    def _key(self, *parts: str) -> str:
        return ":".join((self._prefix, "feedback", *parts))

    def _desired(self, key: str) -> str:
        return f"{key}:desired"

    def _posted(self, key: str) -> str:
        return f"{key}:posted"


def _newer(build_id: str, target: Target) -> bool:
    """Is `build_id` newer than the target's build? Build ids are increasing integers."""
    with contextlib.suppress(ValueError):
        return int(build_id) > int(target.build_id)
    return False
