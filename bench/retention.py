"""Bounded storage (issue 14): Redis stays flat under a stream of builds, and build lists stay fast
over a long history.

**bounded**: builds with ~100 KB of log each go the whole real way: a signed webhook over HTTP to
`tingle serve` (admission), the arq job on `tingle worker`s (bench.fake_worker: the real worker,
janitor and feedback, with steps on the in-memory engine, so thousands of builds fit a small
machine), the runner and its log writer into Redis, then the janitor's passes (every second):
the archiver moves each ended build's logs to the blob store (a folder here) and retention expires
builds past TINGLE_RETENTION (a few seconds) or past their branch's newest
TINGLE_KEEP_BUILDS_PER_BRANCH. Webhooks are sent as fast as the workers keep up (at most
`in_flight` builds unfinished), so the queue never hides a backlog. Redis `used_memory` is read
once a second; the figure is the final reading (the last build ended) against the reading once
1,000 builds had ended past the first retention window (when expiry has reached its steady
state). The keys in Redis are counted by kind at both moments, and once more after the last
builds expired, to show what stays.

**listing**: 100,000 build records (BuildStore.save, as the workers write them) over 50
repositories, branches and end states; then, over HTTP on `tingle serve`, the repository list,
one repository's build list unfiltered, filtered by a common branch, a rare branch, a state, and
the badge, each timed over `requests` sequential requests.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

import httpx
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from bench.lab import Lab, build_info, cpu_seconds, rss_mib
from bench.stats import summary_ms
from tingle.build import Build, BuildState, StepRecord, StepState
from tingle.store import BuildStore

REPO = "bench/retention"
LOG_LINES = 1000  # x 100 bytes: a 100 KB log
FIRST_AFTER = 1000  # the first reading: this many builds ended past the first retention window


def _key_kinds(client: Redis) -> dict[str, int]:
    """Keys by kind: `tingle:build:12` counts as `tingle:build`, `arq:result:build:3` as
    `arq:result`."""
    kinds: Counter[str] = Counter()
    for key in client.scan_iter(count=2000):
        parts = cast(bytes, key).decode().split(":")
        kinds[":".join(parts[:2])] += 1
    return dict(sorted(kinds.items()))


def _bytes_of_kind(client: Redis, pattern: str, sample: int = 50) -> int | None:
    """MEMORY USAGE of up to `sample` keys matching `pattern`, times how many match."""
    keys = [cast(bytes, k) for k in client.scan_iter(match=pattern, count=2000)]
    if not keys:
        return None
    picked = random.sample(keys, min(sample, len(keys)))
    sizes = [int(cast(int, client.memory_usage(k)) or 0) for k in picked]
    return round(sum(sizes) / len(sizes) * len(keys))


class _Sampler:
    """One reading a second of what Redis holds."""

    def __init__(self, lab: Lab, archive: Path) -> None:
        self.client = lab.redis()
        self.archive = archive
        self.started = time.time()
        self.samples: list[dict[str, Any]] = []

    def read(self) -> dict[str, Any]:
        client = self.client
        with client.pipeline(transaction=False) as pipe:
            pipe.get("tingle:build-seq")
            pipe.scard("tingle:active")
            pipe.zcard("tingle:builds")
            pipe.zcard("tingle:archive-due")
            pipe.zcard("tingle:expire-due")
            pipe.dbsize()
            pipe.info("memory")
            seq, active, records, due, over, keys, memory = pipe.execute()
        admitted = int(seq or 0)
        sample = {
            "t_s": round(time.time() - self.started, 1),
            "admitted": admitted,
            "ended": admitted - int(active),
            "records": int(records),
            "archive_backlog": int(due),
            "expire_due": int(over),
            "keys": int(keys),
            "used_memory": int(memory["used_memory"]),
        }
        self.samples.append(sample)
        return sample


_JOBS = re.compile(r"(\d+) jobs complete \\u25c6 (\d+) failed")  # arq's, JSON-escaped


def _jobs(logs: list[Path]) -> dict[str, int]:
    """Jobs complete and failed, from each worker's last arq summary line."""
    total = {"complete": 0, "failed": 0}
    for path in logs:
        found = _JOBS.findall(path.read_text(errors="replace"))
        if found:
            total["complete"] += int(found[-1][0])
            total["failed"] += int(found[-1][1])
    return total


def _archive_files(folder: Path) -> int:
    """Files in the archive now (retention removes some while this counts: those are skipped)."""
    return sum(len(files) for _, _, files in os.walk(folder))


def bounded(
    lab: Lab,
    *,
    builds: int = 10_000,
    workers: int = 2,
    concurrency: int = 8,
    retention_s: float = 5.0,
    keep_per_branch: int = 3,
    branches: int = 500,
    in_flight: int = 48,
    timeout_s: float = 900,
) -> dict[str, Any]:
    lab.reset()
    settings = lab.settings(
        worker_concurrency=concurrency,
        janitor_seconds=1.0,
        archive_delay_seconds=0.0,
        retention_seconds=retention_s,
        keep_builds_per_lane=keep_per_branch,
        archive_url=str(lab.root / "archive-retention"),
        github_writes_per_second=10_000.0,
        github_write_burst=10_000,
    )
    # Build i runs on branch i % branches at commit i // branches: every (branch, commit) once,
    # so no webhook is a replay of another, and each branch has builds past its newest N.
    info = build_info(("log", [f"lines {LOG_LINES}"]))
    repo = lab.repo(REPO)
    shas = [
        repo.commit({"build-info.yaml": info, "n.txt": str(n)})
        for n in range(-(-builds // branches))
    ]
    archive = Path(settings.archive_url)
    with (
        lab.web(settings) as web,
        lab.workers(settings, workers, module="bench.fake_worker") as procs,
    ):
        sampler = _Sampler(lab, archive)
        sent: list[float] = []
        failures: list[str] = []
        stop = threading.Event()

        def send() -> None:
            client = lab.redis()
            for i in range(builds):
                while int(cast(int, client.scard("tingle:active"))) >= in_flight:
                    if stop.wait(0.005):
                        return
                started = time.perf_counter()
                try:
                    lab.push(web.url, REPO, shas[i // branches], f"b-{i % branches}")
                except (RuntimeError, httpx.HTTPError) as exc:
                    failures.append(str(exc)[:200])
                sent.append(time.perf_counter() - started)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        began = time.time()
        window_ended: int | None = None  # builds ended when the first retention window closed
        first: dict[str, Any] | None = None
        first_kinds: dict[str, int] = {}
        first_files = 0
        final: dict[str, Any] | None = None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            time.sleep(1.0)
            now = sampler.read()
            if window_ended is None and now["t_s"] >= retention_s + settings.janitor_seconds:
                window_ended = now["ended"]
            if (
                first is None
                and window_ended is not None
                and now["ended"] >= window_ended + FIRST_AFTER
            ):
                first, first_kinds = now, _key_kinds(sampler.client)
                first_files = _archive_files(archive)
            if now["ended"] >= builds and not sender.is_alive():
                final = now
                break
        stop.set()
        sender.join(5)
        elapsed = time.time() - began
        final = final or sampler.samples[-1]
        final_kinds = _key_kinds(sampler.client)
        final_files = _archive_files(archive)
        delivery_bytes = _bytes_of_kind(sampler.client, "tingle:delivery:*")
        event_bytes = _bytes_of_kind(sampler.client, "tingle:event:*")
        result_bytes = _bytes_of_kind(sampler.client, "arq:result:*")
        feedback_bytes = _bytes_of_kind(sampler.client, "tingle:feedback:*")
        cpu = {"web": cpu_seconds(web.pid), "workers": sum(cpu_seconds(p.pid) for p in procs)}
        # Once the last builds are past retention too: what stays for good (or for its TTL).
        time.sleep(retention_s + 3 * settings.janitor_seconds)
        settled = sampler.read()
        settled_kinds = _key_kinds(sampler.client)
        settled_files = _archive_files(archive)
        worker_memory = [rss_mib(p.pid) for p in procs]
        web_memory = rss_mib(web.pid)
        worker_logs = [p.log_path for p in procs]
    steady = [s for s in sampler.samples if first and s["t_s"] >= first["t_s"]]
    rate = (
        (final["ended"] - first["ended"]) / (final["t_s"] - first["t_s"])
        if first and final["t_s"] > first["t_s"]
        else None
    )
    growth = (
        round(final["used_memory"] / first["used_memory"] - 1, 4)
        if first and first["used_memory"]
        else None
    )
    return {
        "builds": builds,
        "ended": final["ended"],
        "log_bytes_per_build": LOG_LINES * 100,
        "workers": workers,
        "concurrency_per_worker": concurrency,
        "engine": "in-memory (testing/fake_engine.py), real arq workers and janitor",
        "retention_s": retention_s,
        "keep_builds_per_branch": keep_per_branch,
        "branches": branches,
        "janitor_s": settings.janitor_seconds,
        "archive_delay_s": 0.0,
        "in_flight_max": in_flight,
        "elapsed_s": round(elapsed, 1),
        "builds_per_s": round(final["ended"] / final["t_s"], 1) if final["t_s"] else None,
        "builds_per_s_steady": round(rate, 1) if rate else None,
        "webhook": summary_ms(sent),
        "webhook_failures": failures[:5],
        "webhook_failure_count": len(failures),
        "first": first,
        "final": final,
        "settled": settled,
        "used_memory_growth": growth,
        "archive_backlog_max_steady": max((s["archive_backlog"] for s in steady), default=None),
        "archive_backlog_max": max(s["archive_backlog"] for s in sampler.samples),
        "records_max_steady": max((s["records"] for s in steady), default=None),
        "keys_first": first_kinds,
        "keys_final": final_kinds,
        "keys_settled": settled_kinds,
        "archive_files": {"first": first_files, "final": final_files, "settled": settled_files},
        "bytes_at_final": {
            "tingle:delivery": delivery_bytes,
            "tingle:event": event_bytes,
            "arq:result": result_bytes,
            "tingle:feedback": feedback_bytes,
        },
        "cpu_s": {name: round(value, 1) for name, value in cpu.items()},
        "jobs": _jobs(worker_logs),
        "worker_memory_mib": worker_memory,
        "web_memory_mib": web_memory,
        "timeline": [*sampler.samples[:: max(1, len(sampler.samples) // 60)], settled],
    }


# --- listing --------------------------------------------------------------------------------

REPOS = 50
BRANCHES = ("main",) * 10 + tuple(f"feature-{n}" for n in range(20))  # main: a third of pushes
STATES: tuple[BuildState, ...] = (
    (BuildState.SUCCESS,) * 14 + (BuildState.FAILURE,) * 3 + (BuildState.CANCELLED,) * 2
)
STATES += (BuildState.ERROR,)


def _record(i: int, now: float, rng: random.Random) -> Build:
    repo = f"org{i % REPOS:02d}/app{i % REPOS:02d}"
    pr = rng.randrange(1, 400) if rng.random() < 0.1 else None
    branch = rng.choice(BRANCHES[10:]) if pr else rng.choice(BRANCHES)
    state = rng.choice(STATES)
    created = now - (100_000 - i) * 6.0  # one build every 6 s: about a week of history
    step = StepRecord("test", "tingle/busybox:latest", state=StepState.SUCCESS, exit_code=0)
    step.started_at, step.finished_at = created + 1, created + 30
    return Build(
        id=str(i + 1),
        repo=repo,
        sha=f"{i:040x}",
        ref=f"refs/pull/{pr}/head" if pr else f"refs/heads/{branch}",
        event="pull_request" if pr else "push",
        clone_url=f"https://github.com/{repo}.git",
        branch=branch,
        pr_number=pr,
        default_branch="main",
        author="octocat",
        commit_message=f"change {i}",
        state=state,
        reason=None if state is BuildState.SUCCESS else f"step 'test' ended {state}",
        created_at=created,
        started_at=created + 1,
        finished_at=created + 30,
        worker="worker-1:1",
        attempts=1,
        steps=[step],
        logs_archived=True,  # as a week-old history would be: no archiving waits
    )


async def _write_records(redis_url: str, count: int) -> float:
    client = AsyncRedis.from_url(redis_url, max_connections=64)
    store = BuildStore(client)
    rng = random.Random(14)
    now = time.time()
    started = time.perf_counter()
    try:
        for start in range(0, count, 64):  # as many saves at once as the pool has connections
            batch = [_record(i, now, rng) for i in range(start, min(count, start + 64))]
            await asyncio.gather(*(store.save(b) for b in batch))
        await client.set("tingle:build-seq", count)
    finally:
        await client.aclose()
    return time.perf_counter() - started


def _timed(client: httpx.Client, url: str, requests: int) -> dict[str, Any]:
    for _ in range(5):  # warm-up
        client.get(url).raise_for_status()
    samples = []
    items = None
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.get(url)
        samples.append(time.perf_counter() - started)
        answer.raise_for_status()
        if items is None and answer.headers.get("content-type", "").startswith("application/json"):
            items = len(answer.json().get("items", []))
    return {**summary_ms(samples), "items": items}


def listing(lab: Lab, *, records: int = 100_000, requests: int = 300) -> dict[str, Any]:
    lab.reset()
    settings = lab.settings()
    wrote_s = asyncio.run(_write_records(lab.redis_url, records))
    memory = lab.used_memory()
    repo = "org07/app07"
    rare = "feature-13"
    client = lab.redis()
    per_repo = int(cast(int, client.zcard(f"tingle:repo:{repo}:builds")))
    with lab.web(settings) as web, httpx.Client(base_url=web.url, timeout=30) as http:
        api = f"/api/repos/{repo}/builds"
        endpoints = {
            "repos": "/api/repos",
            "builds": api,
            "builds_branch_main": f"{api}?branch=main",
            f"builds_branch_{rare}": f"{api}?branch={rare}",
            "builds_state_failure": f"{api}?state=failure",
            "builds_state_error": f"{api}?state=error",
            "badge": f"/badge/{repo}.svg",
            f"badge_branch_{rare}": f"/badge/{repo}.svg?branch={rare}",
        }
        timed = {
            name: {"path": path, **_timed(http, path, requests)} for name, path in endpoints.items()
        }
    return {
        "records": records,
        "repos": REPOS,
        "builds_in_repo": per_repo,
        "write_s": round(wrote_s, 1),
        "records_per_s": round(records / wrote_s),
        "redis_used_memory": memory,
        "requests_each": requests,
        "endpoints": timed,
        "over_target": [n for n, t in timed.items() if t.get("p95_ms", 0) >= 50],
    }


def run(lab: Lab, *, builds: int = 10_000, records: int = 100_000) -> dict[str, Any]:
    listed = listing(lab, records=records)  # first: the shorter one
    return {"bounded": bounded(lab, builds=builds), "listing": listed}
