"""Putting builds on the arq queue. The arq job id is derived from the build id, so enqueueing the
same build twice (a redelivered webhook, a retry after a crash) never makes a second job."""

from __future__ import annotations

from arq.connections import ArqRedis, RedisSettings
from redis.asyncio import BlockingConnectionPool

RUN_BUILD = "run_build"
JOB_ID_PREFIX = "build:"


def job_id(build_id: str) -> str:
    return JOB_ID_PREFIX + build_id


def build_id_of(arq_job_id: str) -> str:
    return arq_job_id.removeprefix(JOB_ID_PREFIX)


def connect(redis_url: str) -> ArqRedis:
    """A pool that connects on first use: the web app starts, and answers 503, without Redis."""
    pool: ArqRedis = ArqRedis.from_url(
        redis_url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30
    )
    return pool


def connect_bounded(redis_url: str, max_connections: int, wait_seconds: int) -> ArqRedis:
    """Like `connect`, with at most `max_connections` open: a command waits up to
    `wait_seconds` for a free one, then fails (ConnectionError) rather than open one more. (The
    pool is closed with `close_bounded`: a client given a pool does not close it.)"""
    pool = BlockingConnectionPool.from_url(
        redis_url,
        max_connections=max_connections,
        timeout=wait_seconds,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=30,
    )
    return ArqRedis(pool_or_conn=pool)


async def close_bounded(client: ArqRedis) -> None:
    await client.aclose()
    await client.connection_pool.disconnect()


def redis_settings(redis_url: str) -> RedisSettings:
    settings: RedisSettings = RedisSettings.from_dsn(redis_url)
    settings.conn_timeout = 2
    settings.conn_retries = 0  # the web app answers 503 at once rather than hang a webhook
    return settings


async def enqueue_build(pool: ArqRedis, build_id: str, queue_name: str) -> bool:
    """True when a job was made, False when one exists already for this build."""
    job = await pool.enqueue_job(
        RUN_BUILD, build_id, _job_id=job_id(build_id), _queue_name=queue_name
    )
    return job is not None
