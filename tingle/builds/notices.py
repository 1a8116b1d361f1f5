"""Builds whose GitHub feedback is due, told by the web app and followed by the workers.

The web app makes no GitHub call and does not even work out what GitHub should show: when it
admits, cancels, approves or restarts a build it pushes the build's id on one Redis list (the
admission script does so in its own round trip). Every worker follows that list with a blocking
pop (tingle.worker.notice_follower), so each notice goes to one worker, which reads the record
and publishes its feedback as it would for a build it runs (`Feedback.build_changed`), within
milliseconds.

A notice lost (the list is capped while no worker follows it) costs only an intermediate status:
the worker that runs the build publishes every later state, and a record is always the truth.
"""

from __future__ import annotations

from redis.asyncio import Redis

NOTICES_KEPT = 10_000  # notices kept while no worker follows them; older ones are dropped


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
