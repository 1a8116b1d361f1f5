"""A worker's task that follows the builds the web app tells about (tingle.builds.notices) and
publishes their GitHub feedback, as it would for a build it runs."""

from __future__ import annotations

import asyncio

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from tingle.builds.notices import notices_key
from tingle.forge.feedback import Feedback
from tingle.store import BuildStore, as_text

log = structlog.get_logger(__name__)

WAIT_SECONDS = 1  # how long one blocking pop lasts
MAX_POSTS_IN_FLIGHT = 16  # a worker catching up on notices posts this many statuses at once at most


async def follow_notices(redis: Redis, store: BuildStore, feedback: Feedback) -> None:
    """Publish the feedback of each build told, for ever."""
    key = notices_key(store.prefix)
    while True:
        await feedback.publisher.wait_below(MAX_POSTS_IN_FLIGHT)
        try:
            popped = await redis.blpop([key], WAIT_SECONDS)  # type: ignore[misc]
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
