"""Builds whose GitHub feedback is due, told by the web app and followed by the workers.

The web app makes no GitHub call and does not even work out what GitHub should show: when it
admits, cancels, approves or restarts a build it pushes the build's id on one Redis list (the
admission script does so in its own round trip). Every worker follows that list with a blocking
pop, so each notice goes to one worker, which reads the record and publishes its feedback as it
would for a build it runs (`Feedback.build_changed`), within milliseconds.

A notice lost (the list is capped while no worker follows it) costs only an intermediate status:
the worker that runs the build publishes every later state, and a record is always the truth.
"""

from __future__ import annotations

import asyncio

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from tingle.feedback import Feedback
from tingle.store import BuildStore, as_text

log = structlog.get_logger(__name__)

NOTICES_KEPT = 10_000  # notices kept while no worker follows them; older ones are dropped
WAIT_SECONDS = 1  # how long one blocking pop lasts
MAX_POSTS_IN_FLIGHT = 16  # a worker catching up on notices posts this many statuses at once at most


def notices_key(prefix: str) -> str:
    return f"{prefix}:feedback:changed"


class BuildNotices:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self.key = notices_key(prefix)

    async def tell(self, build_id: str) -> None:
        """The build changed: a worker will publish its feedback."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(self.key, build_id)
            pipe.ltrim(self.key, -NOTICES_KEPT, -1)
            await pipe.execute()

    async def follow(self, store: BuildStore, feedback: Feedback) -> None:
        """Publish the feedback of each build told, for ever (a worker's task)."""
        while True:
            await feedback.publisher.wait_below(MAX_POSTS_IN_FLIGHT)
            try:
                popped = await self._redis.blpop([self.key], WAIT_SECONDS)  # type: ignore[misc]
                if popped is None:
                    continue
                build_id = as_text(popped[1])
                build = await store.get(build_id)
            except (RedisError, OSError) as exc:  # workers publish what happens next anyway
                log.warning("build notices unreadable", error=str(exc))
                await asyncio.sleep(WAIT_SECONDS)
                continue
            if build is None:
                continue
            try:
                await feedback.build_changed(build)
            except Exception:  # one build's feedback never stops the others'
                log.exception("feedback not recorded", build_id=build_id)
