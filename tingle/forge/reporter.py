"""Turns build progress into GitHub commit statuses, in order, without ever failing a build.

Each (build, context) has a *desired* status in Redis, written whenever the build changes, and a
*posted* one. `sync` posts the desired status under a per-(build, context) lock when the two differ.
So two processes reporting the same build (the web app's "queued", the worker's "success") can
never leave GitHub showing an older state, and a status that failed to post is caught up by the
next sync instead of being lost.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass

import structlog
from redis.asyncio import Redis

from tingle.build import Build, BuildState
from tingle.forge.github import GitHubClient, describe

log = structlog.get_logger(__name__)

STATUS_KEY_TTL_SECONDS = 14 * 24 * 3600


@dataclass(frozen=True)
class CommitStatus:
    state: str  # pending | success | failure | error
    description: str
    target_url: str
    context: str


def status_for(build: Build, *, context: str, target_url: str) -> CommitStatus:
    """The one status a build shows in its current state (pure)."""
    state, text = _STATE_TEXT[build.state]
    description = f"Build #{build.id} {text}"
    if build.state.terminal and build.state is not BuildState.SUCCESS and build.reason:
        description += f": {build.reason}"
    elif build.state is BuildState.SUCCESS and build.duration is not None:
        description += f" in {_human_seconds(build.duration)}"
    return CommitStatus(state, describe(description), target_url, context)


_STATE_TEXT: dict[BuildState, tuple[str, str]] = {
    BuildState.QUEUED: ("pending", "queued"),
    BuildState.RUNNING: ("pending", "running"),
    BuildState.SUCCESS: ("success", "passed"),
    BuildState.FAILURE: ("failure", "failed"),
    BuildState.ERROR: ("error", "errored"),
    BuildState.SKIPPED: ("success", "skipped"),
    BuildState.CANCELLED: ("error", "cancelled"),  # GitHub has no "cancelled" state
}


def _human_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


class StatusReporter:
    def __init__(
        self, redis: Redis, client: GitHubClient | None, *, prefix: str = "tingle"
    ) -> None:
        self._redis = redis
        self._client = client
        self._prefix = prefix

    async def publish(self, build: Build, status: CommitStatus) -> None:
        """Record `status` as the one GitHub should show, then try to post it. Never raises."""
        try:
            await self._remember("desired", build.id, status.context, _encode(status))
            await self.sync(build.repo, build.sha, build.id, status.context)
        except Exception:  # Redis or GitHub down: the build goes on, a later sync catches up
            log.exception("status publish failed", build_id=build.id, context=status.context)

    async def sync(self, repo: str, sha: str, build_id: str, context: str) -> bool:
        """Post the desired status unless GitHub has it. True when GitHub is up to date."""
        if self._client is None:
            return False
        lock = self._redis.lock(self._key("lock", build_id, context), timeout=120)
        async with lock:
            desired, posted = await self._redis.mget(
                self._key("desired", build_id, context), self._key("posted", build_id, context)
            )
            if desired is None or desired == posted:
                return True
            status = CommitStatus(**json.loads(desired))
            try:
                await asyncio.to_thread(
                    self._client.create_status,
                    repo,
                    sha,
                    state=status.state,
                    target_url=status.target_url,
                    description=status.description,
                    context=status.context,
                )
            except Exception as exc:
                log.warning("status not posted", build_id=build_id, error=str(exc))
                return False
            await self._remember("posted", build_id, context, desired)
            log.info("status posted", build_id=build_id, state=status.state, context=context)
            return True

    async def _remember(self, kind: str, build_id: str, context: str, value: str | bytes) -> None:
        key = self._key(kind, build_id, context)
        await self._redis.set(key, value, ex=STATUS_KEY_TTL_SECONDS)

    def _key(self, kind: str, build_id: str, *rest: str) -> str:
        return ":".join((self._prefix, "status", kind, build_id, *rest))


def _encode(status: CommitStatus) -> str:
    return json.dumps(asdict(status), sort_keys=True)
