"""Burst: 200 builds queued at once over 4 workers (`tingle worker`, one build each at a time).

Each build has one step, `sleep 1`, on its own branch (so none supersedes another). The drain time
runs from the first webhook sent to the last build finished; the ideal is the total step time
(the steps' own durations from their records, container start included) over the workers, and
beside it the bare command time (200 x 1 s / 4). Redis memory per build is `used_memory` after
everything settled less before, over the builds; worker and web memory are read from /proc.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.lab import Lab, build_info, rss_mib, wait_idle
from bench.stats import summary_ms

REPO = "bench/burst"
_JOB_DONE = re.compile(r"([0-9.]+)s \\u2190 build:(\d+):run_build")  # JSON-escaped arrow


def _wait_all(
    lab: Lab, build_ids: list[str], timeout: float = 600
) -> tuple[list[dict[str, Any]], list[str]]:
    """The records of the builds that finished within `timeout`, and the ids of those that did not
    (a build whose job died without ending its record would otherwise stall the bench)."""
    deadline = time.monotonic() + timeout
    done: dict[str, dict[str, Any]] = {}
    client = lab.redis()
    while len(done) < len(build_ids) and time.monotonic() < deadline:
        for build_id in build_ids:
            if build_id not in done:
                record = lab.record(build_id, client)
                if record and record["state"] not in ("queued", "running"):
                    done[build_id] = record
        time.sleep(0.1)
    return list(done.values()), [b for b in build_ids if b not in done]


def _job_seconds(logs: list[Path]) -> dict[str, float]:
    """How long each build's arq job ran, from arq's "1.14s <- build:18:run_build" log lines."""
    found: dict[str, float] = {}
    for path in logs:
        for match in _JOB_DONE.finditer(path.read_text(errors="replace")):
            found[match.group(2)] = float(match.group(1))
    return found


def _wait_final_statuses(lab: Lab, sha: str, build_ids: list[str], timeout: float = 60) -> None:
    """Until GitHub has every build's last status (the workers post it after the record)."""
    deadline = time.monotonic() + timeout
    waiting = set(build_ids)
    while waiting and time.monotonic() < deadline:
        waiting = {b for b in waiting if lab.fake.arrived(sha, f"Build #{b} passed") is None}
        time.sleep(0.1)
    time.sleep(1)  # clean-ups after the last status


def run(
    lab: Lab, *, builds: int = 200, workers: int = 4, step_seconds: float = 1.0
) -> dict[str, Any]:
    lab.reset()
    settings = lab.settings(worker_concurrency=1)
    sha = lab.repo(REPO).commit(
        {"build-info.yaml": build_info(("work", [f"sleep {step_seconds:g}"]))}
    )
    with lab.web(settings) as web, lab.workers(settings, workers) as procs:
        before = lab.used_memory()
        started = time.time()
        with ThreadPoolExecutor(8) as pool:
            sent = list(
                pool.map(lambda i: lab.push(web.url, REPO, sha, f"burst-{i}"), range(builds))
            )
        queued = time.time() - started
        records, unfinished = _wait_all(lab, [build_id for build_id, _ in sent])
        drained = max(r["finished_at"] for r in records) - started
        _wait_final_statuses(lab, sha, [build_id for build_id, _ in sent])
        wait_idle(web.pid, timeout=30)
        after = lab.used_memory()
        worker_memory = [rss_mib(p.pid) for p in procs]
        web_memory = rss_mib(web.pid)
        job_seconds = _job_seconds([p.log_path for p in procs])
    states: dict[str, int] = {}
    for record in records:
        states[record["state"]] = states.get(record["state"], 0) + 1
    step_time = sum(
        (s["finished_at"] - s["started_at"])
        for r in records
        for s in r["steps"]
        if s["finished_at"]
    )
    ideal = step_time / workers
    # The job runs longer than the record's started -> finished: loading the record before, and
    # after the end the container removal, the workspace removal and the last saves.
    outside = [
        job_seconds[r["id"]] - (r["finished_at"] - r["started_at"])
        for r in records
        if r["id"] in job_seconds
    ]
    nominal = builds * step_seconds / workers
    return {
        "builds": builds,
        "workers": workers,
        "step": f"sleep {step_seconds:g}",
        "states": states,
        "unfinished": unfinished,
        "queued_in_s": round(queued, 2),
        "drain_s": round(drained, 2),
        "ideal_s": round(ideal, 2),
        "nominal_ideal_s": round(nominal, 2),
        "ratio": round(drained / ideal, 3),
        "ratio_nominal": round(drained / nominal, 3),
        "queue_wait": summary_ms([r["started_at"] - r["created_at"] for r in records]),
        "build_in_worker": summary_ms([r["finished_at"] - r["started_at"] for r in records]),
        "job_beyond_record": summary_ms(outside),
        "redis_used_memory_before": before,
        "redis_used_memory_after": after,
        "redis_bytes_per_build": round((after - before) / builds),
        "worker_memory_mib": worker_memory,
        "web_memory_mib": web_memory,
    }
