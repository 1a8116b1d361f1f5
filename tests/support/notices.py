"""Workers' notice followers, in-process, for as long as a test needs them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from testing.waiting import wait_for
from tingle.forge.factory import github_clients
from tingle.forge.feedback import make_feedback
from tingle.queue import connect
from tingle.settings import Settings
from tingle.store import BuildStore
from tingle.worker.notice_follower import follow_notices as follow


def follow_notices(settings: Settings, until: Callable[[], object], followers: int = 1) -> None:
    """`followers` workers (each with its own feedback) follow the build notices until `until()`
    holds, then finish posting and stop."""

    async def run() -> None:
        pool = connect(settings.redis_url)
        store = BuildStore(pool)
        clients = github_clients(settings)
        feedbacks = [make_feedback(pool, store, settings, clients) for _ in range(followers)]
        tasks = [asyncio.create_task(follow(pool, store, f)) for f in feedbacks]
        try:
            await asyncio.to_thread(wait_for, until, 20, "statuses posted")
        finally:
            for task in tasks:
                task.cancel()
            for feedback in feedbacks:
                await feedback.publisher.drain()
            await pool.aclose()

    asyncio.run(run())
