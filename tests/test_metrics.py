"""tingle.metrics: the observe functions, the queue gauges read from a real arq queue, the
exposition, and a worker's own /metrics, /healthz and /readyz over real HTTP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from arq.connections import ArqRedis
from prometheus_client.parser import text_string_to_metric_families

from tingle import metrics
from tingle.forge.github import GitHubError
from tingle.queue import connect, enqueue_build
from tingle.worker import health as worker_health


def value(name: str, **labels: str) -> float:
    found = metrics.REGISTRY.get_sample_value(name, labels)
    return 0.0 if found is None else found


def test_webhooks_are_counted_by_event_and_result() -> None:
    before = value("tingle_webhooks_total", event="push", result="queued")
    metrics.observe_webhook("push", "queued", 0.004)
    metrics.observe_webhook("push", "queued")
    assert value("tingle_webhooks_total", event="push", result="queued") == before + 2
    assert value("tingle_webhook_duration_seconds_bucket", result="queued", le="0.005") >= 1


def test_unknown_events_and_results_do_not_make_new_series() -> None:
    before = value("tingle_webhooks_total", event="other", result="bad_signature")
    metrics.observe_webhook("x" * 200, "bad_signature")
    metrics.observe_webhook("made-up-event", "bad_signature")
    assert value("tingle_webhooks_total", event="other", result="bad_signature") == before + 2
    other = value("tingle_webhooks_total", event="push", result="other")
    metrics.observe_webhook("push", "not-a-result")
    assert value("tingle_webhooks_total", event="push", result="other") == other + 1


def test_build_and_step_durations_by_outcome() -> None:
    count = value("tingle_build_duration_seconds_count", outcome="failure")
    total = value("tingle_build_duration_seconds_sum", outcome="failure")
    metrics.observe_build("failure", 42.0)
    assert value("tingle_build_duration_seconds_count", outcome="failure") == count + 1
    assert value("tingle_build_duration_seconds_sum", outcome="failure") == total + 42.0
    steps = value("tingle_step_duration_seconds_count", outcome="success")
    metrics.observe_step("success", 0.3)
    assert value("tingle_step_duration_seconds_count", outcome="success") == steps + 1
    assert value("tingle_step_duration_seconds_bucket", outcome="success", le="0.5") >= 1


def test_negative_durations_from_clock_steps_count_as_zero() -> None:
    total = value("tingle_queue_wait_seconds_sum")
    metrics.observe_queue_wait(-0.2)
    assert value("tingle_queue_wait_seconds_sum") == total


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (GitHubError("no answer"), "no_answer"),
        (GitHubError("bad", status=401), "unauthorised"),
        (GitHubError("slow down", status=403, retryable=True), "rate_limited"),
        (GitHubError("too many", status=429), "rate_limited"),
        (GitHubError("forbidden", status=403, retryable=False), "client"),
        (GitHubError("unprocessable", status=422), "client"),
        (GitHubError("down", status=502), "server"),
    ],
)
def test_github_errors_are_classified(error: GitHubError, kind: str) -> None:
    assert metrics.github_error_kind(error) == kind


def test_github_calls_errors_and_rate_limit() -> None:
    calls = value("tingle_github_calls_total", operation="create_status")
    errors = value("tingle_github_errors_total", operation="create_status", kind="server")
    metrics.observe_github_call("create_status", remaining=4999)
    metrics.observe_github_call("create_status", error=GitHubError("x", status=500), remaining=10)
    assert value("tingle_github_calls_total", operation="create_status") == calls + 2
    assert (
        value("tingle_github_errors_total", operation="create_status", kind="server") == errors + 1
    )
    assert value("tingle_github_rate_limit_remaining") == 10


def test_running_builds_per_worker_go_down_also_when_the_build_raises() -> None:
    metrics.set_worker_capacity("host:1", 2)
    assert value("tingle_worker_capacity", worker="host:1") == 2
    with metrics.running_build("host:1"):
        assert value("tingle_builds_running", worker="host:1") == 1
        with pytest.raises(RuntimeError), metrics.running_build("host:1"):
            assert value("tingle_builds_running", worker="host:1") == 2
            raise RuntimeError("build crashed")
        assert value("tingle_builds_running", worker="host:1") == 1
    assert value("tingle_builds_running", worker="host:1") == 0


@pytest.fixture
async def pool(redis_url: str) -> AsyncIterator[ArqRedis]:
    redis = connect(redis_url)
    yield redis
    await redis.aclose()


async def test_queue_gauges_are_read_from_arqs_queue_on_scrape(pool: ArqRedis) -> None:
    queue = "tingle:queue"
    await metrics.refresh_queue(pool, queue)
    assert value("tingle_queue_depth") == 0
    assert value("tingle_queue_oldest_seconds") == 0
    for build_id in ("1", "2", "3"):
        await enqueue_build(pool, build_id, queue)
    await metrics.refresh_queue(pool, queue, now=time.time() + 30)
    assert value("tingle_queue_depth") == 3
    assert 29 <= value("tingle_queue_oldest_seconds") <= 32


async def test_queue_gauges_keep_their_value_when_redis_is_down(pool: ArqRedis) -> None:
    await enqueue_build(pool, "7", "tingle:queue")
    await metrics.refresh_queue(pool, "tingle:queue")
    down = connect("redis://127.0.0.1:1/0")
    try:
        await metrics.refresh_queue(down, "tingle:queue")
    finally:
        await down.aclose()
    assert value("tingle_queue_depth") == 1


async def test_exposition_is_prometheus_text_with_every_family(pool: ArqRedis) -> None:
    metrics.observe_webhook("pull_request", "ignored")
    body, content_type = await metrics.exposition(pool, "tingle:queue")
    assert content_type.startswith("text/plain; version=0.0.4")
    families = {family.name for family in text_string_to_metric_families(body.decode())}
    assert {
        "tingle_webhooks",
        "tingle_webhook_duration_seconds",
        "tingle_queue_depth",
        "tingle_queue_oldest_seconds",
        "tingle_queue_wait_seconds",
        "tingle_build_duration_seconds",
        "tingle_step_duration_seconds",
        "tingle_github_calls",
        "tingle_github_errors",
        "tingle_github_rate_limit_remaining",
        "tingle_builds_running",
        "tingle_worker_capacity",
        "tingle_github_write_wait_seconds",
        "tingle_feedback_due",
        "tingle_feedback_oldest_due_seconds",
        "process_resident_memory_bytes",
    } <= families


async def test_feedback_gauges_are_read_from_the_due_set_on_scrape(pool: ArqRedis) -> None:
    due_key = "tingle:feedback:due"
    await metrics.refresh_feedback(pool, due_key)
    assert value("tingle_feedback_due") == 0
    assert value("tingle_feedback_oldest_due_seconds") == 0
    now = time.time()
    await pool.zadd(due_key, {"a": now - 40, "b": now - 5, "c": now + 60})  # c backs off
    await metrics.refresh_feedback(pool, due_key, now=now)
    assert value("tingle_feedback_due") == 3
    assert 39 <= value("tingle_feedback_oldest_due_seconds") <= 41
    body, _ = await metrics.exposition(pool, "tingle:queue", feedback_due_key=due_key)
    assert b"tingle_feedback_due 3.0" in body


def test_waits_for_the_write_budget_are_observed() -> None:
    before = value("tingle_github_write_wait_seconds_count")
    metrics.observe_github_write_wait(0.0)
    metrics.observe_github_write_wait(0.7)
    assert value("tingle_github_write_wait_seconds_count") == before + 2
    assert value("tingle_github_write_wait_seconds_bucket", le="0.5") >= 1


def test_openmetrics_when_the_scraper_asks_for_it() -> None:
    body, content_type = metrics.render("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")


def test_readiness_follows_start_beats_and_stop() -> None:
    now = [100.0]
    health = worker_health.WorkerHealth(stale_after=30, clock=lambda: now[0])
    assert health.readiness() == (False, "starting")
    health.mark_ready()
    assert health.readiness() == (True, "ready")
    now[0] += 31
    ready, why = health.readiness()
    assert not ready and "silent" in why
    health.beat()
    assert health.readiness() == (True, "ready")
    health.mark_stopping()
    assert health.readiness() == (False, "stopping")


async def test_heartbeat_beats_while_the_loop_runs() -> None:
    import asyncio

    health = worker_health.WorkerHealth(stale_after=1)
    health.mark_ready()
    task = asyncio.create_task(worker_health.heartbeat(health, interval=0.01))
    await asyncio.sleep(0.05)
    task.cancel()
    assert health.readiness() == (True, "ready")


@pytest.fixture
def worker_server() -> Iterator[tuple[str, worker_health.WorkerHealth]]:
    health = worker_health.WorkerHealth()
    server = worker_health.start_worker_server(0, health, host="127.0.0.1")
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", health
    finally:
        server.shutdown()
        server.server_close()


def test_worker_server_answers_metrics_health_and_readiness(
    worker_server: tuple[str, worker_health.WorkerHealth],
) -> None:
    url, health = worker_server
    metrics.set_worker_capacity("host:2", 1)
    scraped = httpx.get(f"{url}/metrics", timeout=5)
    assert scraped.status_code == 200
    assert 'tingle_worker_capacity{worker="host:2"} 1.0' in scraped.text
    assert httpx.get(f"{url}/healthz", timeout=5).json() == {"ok": True}
    starting = httpx.get(f"{url}/readyz", timeout=5)
    assert (starting.status_code, starting.json()["status"]) == (503, "starting")
    health.mark_ready()
    assert httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    assert httpx.get(f"{url}/nothing", timeout=5).status_code == 404
