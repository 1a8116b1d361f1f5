"""Prometheus metrics: what the web app and the workers count, and how they are exposed.

Each process serves its own metrics and Prometheus scrapes each one:
- the web app at `GET /metrics` (a route in `web/app.py` returning `exposition(...)`), with the
  queue depth and the age of the oldest queued build read from arq's queue on each scrape;
- each worker on its own port, `TINGLE_METRICS_PORT` (`start_worker_server`), which also answers
  `/healthz` (the process is alive) and `/readyz` (started, and its event loop beats).

Why not have the workers push their counts into Redis for the web app to show:
- Prometheus' counters and histograms are per process by design: `rate()` copes with a worker
  restarting, and a worker that dies takes its series with it. Summed in Redis, the duration
  histograms would have to be merged by us, and a dead worker's counts would linger or vanish.
- Redis is the one shared store, on every webhook's and every log line's path. A write per
  observation would put load there; a scrape of a worker costs nothing until someone scrapes.
- Workers run on many machines; one port each is the smallest need, and Prometheus finds them as it
  finds any replicas (DNS service discovery for `compose --scale worker=N`, pods on Kubernetes).
  The same listener gives orchestrators the worker's health and readiness. (Several workers on
  one host, outside containers, need a port each.)
The queue gauges are the web app's alone: the queue is shared, and one exposition of it is enough.
`tingle up` runs the web app and a worker in one process: they share this module's registry, so
the web app's `/metrics` shows both, and no worker port is opened.

Label values are kept to known sets: an event name comes from a request header (before the
signature is checked, for a rejected webhook), and a label per distinct value would let anyone
make series without end.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.exposition import choose_encoder
from redis.asyncio import Redis

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

EVENTS = frozenset({"push", "pull_request", "ping"})
WEBHOOK_RESULTS = frozenset(
    {
        "queued",  # a new build
        "duplicate",  # a redelivery of a delivery already built
        "ignored",  # an event or action Tingle does not build (a tag, a label...)
        "closed",  # a branch deleted or a pull request closed: its builds cancelled
        "pong",  # GitHub's ping
        "bad_signature",  # missing or wrong X-Hub-Signature-256
        "bad_request",  # missing headers, client gone, malformed payload
        "too_large",  # over GitHub's 25 MB
        "timeout",  # the body did not arrive within TINGLE_WEBHOOK_READ_SECONDS: 408
        "busy",  # the bodies being read held TINGLE_WEBHOOK_BYTES_IN_FLIGHT: 503
        "unavailable",  # Redis down: answered 503, GitHub may redeliver
    }
)
OUTCOMES = frozenset({"success", "failure", "error", "skipped", "cancelled"})
GITHUB_ERRORS = frozenset({"rate_limited", "server", "client", "unauthorised", "no_answer"})

_DURATION_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
_WAIT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
_REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)

WEBHOOKS = Counter(
    "tingle_webhooks",
    "Webhook deliveries received, by event and what became of them.",
    ["event", "result"],
    registry=REGISTRY,
)
WEBHOOK_SECONDS = Histogram(
    "tingle_webhook_duration_seconds",
    "Time to answer a webhook (GitHub waits 10 s at most).",
    ["result"],
    buckets=_REQUEST_BUCKETS,
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "tingle_queue_depth", "Builds queued and not yet picked up by a worker.", registry=REGISTRY
)
QUEUE_OLDEST = Gauge(
    "tingle_queue_oldest_seconds",
    "How long the longest-waiting queued build has waited (0 when the queue is empty).",
    registry=REGISTRY,
)
QUEUE_WAIT = Histogram(
    "tingle_queue_wait_seconds",
    "Time from a build queued to a worker starting it.",
    buckets=_WAIT_BUCKETS,
    registry=REGISTRY,
)
BUILD_SECONDS = Histogram(
    "tingle_build_duration_seconds",
    "Time from a worker starting a build to its end, by outcome.",
    ["outcome"],
    buckets=_DURATION_BUCKETS,
    registry=REGISTRY,
)
STEP_SECONDS = Histogram(
    "tingle_step_duration_seconds",
    "Time a step ran (container start included), by outcome.",
    ["outcome"],
    buckets=(0.5, *_DURATION_BUCKETS),
    registry=REGISTRY,
)
GITHUB_CALLS = Counter(
    "tingle_github_calls",
    "Calls to GitHub's API, by operation (failed ones included).",
    ["operation"],
    registry=REGISTRY,
)
GITHUB_ERRORS_TOTAL = Counter(
    "tingle_github_errors",
    "GitHub calls that failed, by operation and kind.",
    ["operation", "kind"],
    registry=REGISTRY,
)
GITHUB_RATE_REMAINING = Gauge(
    "tingle_github_rate_limit_remaining",
    "X-RateLimit-Remaining of GitHub's latest answer to this process.",
    registry=REGISTRY,
)
GITHUB_WRITE_WAIT = Histogram(
    "tingle_github_write_wait_seconds",
    "Time a write to GitHub waited for the write budget all processes share.",
    buckets=_WAIT_BUCKETS,
    registry=REGISTRY,
)
FEEDBACK_DUE = Gauge(
    "tingle_feedback_due",
    "Statuses and comments recorded but not yet on GitHub (workers with credentials post them).",
    registry=REGISTRY,
)
FEEDBACK_OLDEST_DUE = Gauge(
    "tingle_feedback_oldest_due_seconds",
    "How long the longest-waiting of them has been due (0 when none is).",
    registry=REGISTRY,
)
BUILDS_RUNNING = Gauge(
    "tingle_builds_running", "Builds this worker is running now.", ["worker"], registry=REGISTRY
)
WORKER_CAPACITY = Gauge(
    "tingle_worker_capacity",
    "Builds this worker runs at once at most (TINGLE_WORKER_CONCURRENCY).",
    ["worker"],
    registry=REGISTRY,
)

ARCHIVE_DUE = Gauge(
    "tingle_archive_backlog",
    "Ended builds whose logs are still in Redis, waiting to move to the blob store.",
    registry=REGISTRY,
)
ARCHIVE_OLDEST_DUE = Gauge(
    "tingle_archive_oldest_due_seconds",
    "How long the longest-waiting of them has been due (0 when none is).",
    registry=REGISTRY,
)
ARCHIVE_FAILURES = Counter(
    "tingle_archive_failures",
    "Attempts to archive a build's logs that failed (retried later; nothing is lost).",
    registry=REGISTRY,
)
ARCHIVED_BUILDS = Counter(
    "tingle_archived_builds", "Builds whose logs moved to the blob store.", registry=REGISTRY
)
EXPIRED_BUILDS = Counter(
    "tingle_expired_builds",
    "Builds removed by retention (their age, or past their branch's newest N).",
    registry=REGISTRY,
)
REDIS_USED_MEMORY = Gauge(
    "tingle_redis_used_memory_bytes",
    "Redis's used_memory (INFO memory), read at scrape.",
    registry=REGISTRY,
)
# Hostile clients (issue 14, item 4): what the web process holds for senders and readers.
WEBHOOK_BYTES_IN_FLIGHT = Gauge(
    "tingle_webhook_body_bytes_in_flight",
    "Bytes of webhook bodies this web process holds now (at most TINGLE_WEBHOOK_BYTES_IN_FLIGHT).",
    registry=REGISTRY,
)
SSE_LIMITS = frozenset({"per_address", "total"})
SSE_OPEN = Gauge(
    "tingle_sse_connections", "Live-log streams this web process serves now.", registry=REGISTRY
)
SSE_REFUSED = Counter(
    "tingle_sse_refused",
    "Live-log streams refused (429), by the limit they hit.",
    ["limit"],
    registry=REGISTRY,
)
LIVE_LOG_FEEDS = Gauge(
    "tingle_live_log_feeds",
    "Steps whose live log this web process reads from Redis now (one read each, shared).",
    registry=REGISTRY,
)
LIVE_LOG_READS = Counter(
    "tingle_live_log_reads",
    "Blocking reads (XREAD) of live logs this web process made for all its streams.",
    registry=REGISTRY,
)
LIVE_LOG_DROPPED = Counter(
    "tingle_live_log_dropped",
    "Live-log streams ended because their reader fell behind (it resumes with Last-Event-ID).",
    registry=REGISTRY,
)


def _known(value: str, allowed: frozenset[str], other: str = "other") -> str:
    return value if value in allowed else other


# --- what the web app and the workers call ---------------------------------------------------


def observe_webhook(event: str, result: str, seconds: float | None = None) -> None:
    """A webhook was answered: `result` is one of WEBHOOK_RESULTS."""
    result = _known(result, WEBHOOK_RESULTS)
    WEBHOOKS.labels(event=_known(event, EVENTS), result=result).inc()
    if seconds is not None:
        WEBHOOK_SECONDS.labels(result=result).observe(max(0.0, seconds))


def observe_sse_refused(limit: str) -> None:
    SSE_REFUSED.labels(limit=_known(limit, SSE_LIMITS)).inc()


def observe_queue_wait(seconds: float) -> None:
    """A worker started a build that was queued `seconds` ago."""
    QUEUE_WAIT.observe(max(0.0, seconds))


def observe_build(outcome: str, seconds: float) -> None:
    """A build ended in `outcome` (a terminal BuildState's value) after running `seconds`."""
    BUILD_SECONDS.labels(outcome=_known(outcome, OUTCOMES)).observe(max(0.0, seconds))


def observe_step(outcome: str, seconds: float) -> None:
    """A step ended in `outcome` (a StepState's value) after `seconds`."""
    STEP_SECONDS.labels(outcome=_known(outcome, OUTCOMES)).observe(max(0.0, seconds))


def github_error_kind(exc: BaseException) -> str:
    """The kind of a failed GitHub call, from a GitHubError's `status` and `retryable`."""
    status = getattr(exc, "status", None)
    if status is None:
        return "no_answer"
    if status == 401:
        return "unauthorised"
    if status == 429 or (status == 403 and getattr(exc, "retryable", False)):
        return "rate_limited"
    return "server" if status >= 500 else "client"


def observe_github_call(
    operation: str, *, error: BaseException | None = None, remaining: int | None = None
) -> None:
    """A GitHub call (`operation`: e.g. "create_status", "upsert_pr_comment") was made.

    `error`: the exception it raised, if it failed. `remaining`: the client's
    `rate_limit_remaining` after it, when known."""
    GITHUB_CALLS.labels(operation=operation).inc()
    if error is not None:
        GITHUB_ERRORS_TOTAL.labels(operation=operation, kind=github_error_kind(error)).inc()
    if remaining is not None:
        GITHUB_RATE_REMAINING.set(remaining)


def observe_github_write_wait(seconds: float) -> None:
    GITHUB_WRITE_WAIT.observe(seconds)


def set_worker_capacity(worker: str, builds: int) -> None:
    WORKER_CAPACITY.labels(worker=worker).set(builds)
    BUILDS_RUNNING.labels(worker=worker).set(0)


@contextlib.contextmanager
def running_build(worker: str) -> Iterator[None]:
    """Counts a build as running on `worker` while the block runs (also when it raises)."""
    gauge = BUILDS_RUNNING.labels(worker=worker)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


# --- exposition -----------------------------------------------------------------------------


async def refresh_queue(redis: Redis, queue_name: str, now: float | None = None) -> None:
    """Set the queue gauges from arq's queue, a sorted set scored by enqueue time in ms."""
    await _refresh_backlog(redis, queue_name, QUEUE_DEPTH, QUEUE_OLDEST, 1000, now)


async def refresh_feedback(redis: Redis, due_key: str, now: float | None = None) -> None:
    """Set the feedback gauges from the publisher's due set, scored by when each entry is due
    (later than now while it backs off)."""
    await _refresh_backlog(redis, due_key, FEEDBACK_DUE, FEEDBACK_OLDEST_DUE, 1, now)


async def _refresh_backlog(
    redis: Redis,
    key: str,
    size: Gauge,
    oldest_age: Gauge,
    units_per_second: int,
    now: float | None,
) -> None:
    """Set `size` to the members of the sorted set `key` and `oldest_age` to the age of its
    lowest score (a time, in `units_per_second`; 0 when empty or in the future). A failure to read
    leaves both as they were: a scrape must not fail because Redis did."""
    try:
        count = int(await redis.zcard(key))
        oldest = await redis.zrange(key, 0, 0, withscores=True)
    except Exception:
        return
    size.set(count)
    now = time.time() if now is None else now
    oldest_age.set(max(0.0, now - float(oldest[0][1]) / units_per_second) if oldest else 0.0)


async def refresh_archive(redis: Redis, due_key: str, now: float | None = None) -> None:
    await _refresh_backlog(redis, due_key, ARCHIVE_DUE, ARCHIVE_OLDEST_DUE, 1, now)


async def refresh_redis_memory(redis: Redis) -> None:
    try:
        info = await redis.info("memory")
    except Exception:  # a scrape must not fail because Redis did
        return
    REDIS_USED_MEMORY.set(float(info.get("used_memory", 0)))


def render(accept: str = "") -> tuple[bytes, str]:
    """The exposition of every metric, and its content type (OpenMetrics when `accept` asks)."""
    encoder, content_type = choose_encoder(accept)
    return encoder(REGISTRY), content_type


async def exposition(
    redis: Redis | None = None,
    queue_name: str = "",
    accept: str = "",
    feedback_due_key: str = "",
    archive_due_key: str = "",
) -> tuple[bytes, str]:
    """What the web app's `/metrics` answers: the queue and the feedback due read now, then every
    metric."""
    if redis is not None and queue_name:
        await refresh_queue(redis, queue_name)
    if redis is not None and feedback_due_key:
        await refresh_feedback(redis, feedback_due_key)
    if redis is not None and archive_due_key:
        await refresh_archive(redis, archive_due_key)
    if redis is not None:
        await refresh_redis_memory(redis)
    return render(accept)
