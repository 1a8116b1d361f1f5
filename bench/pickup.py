"""Pickup: from a push webhook to the `pending` status at the GitHub fake, and to the first step's
command running in its container, over sequential builds on one worker.

The step's first command prints the kernel clock (`adjtimex`, microseconds; the host and every
container share that clock), so "command running" is measured inside the container. The record's
own times split the path: queue (webhook → worker starts the build), checkout and compile (→ the
step starts), container (→ the command runs).

Builds are spaced by `gap` seconds after the previous one ended, like separate pushes. A second,
shorter series sends each webhook as soon as the previous build ended (`back_to_back`).
"""

from __future__ import annotations

import time
from typing import Any

from bench.lab import NOW, Lab, StatusArrival, build_info
from bench.stats import summary_ms

REPO = "bench/pickup"


def _stamp(lab: Lab, build_id: str) -> float | None:
    """The clock the step printed first (its command running), from the log in Redis."""
    for _, fields in lab.log_entries(build_id, 0):
        for line in fields[b"t"].decode().splitlines():
            try:
                return float(line)
            except ValueError:
                continue
    return None


def _first_pending(lab: Lab, sha: str, build_id: str) -> StatusArrival | None:
    """The build's first `pending` status: "queued", or "running" when the worker's status replaced
    the queued one before it was posted (only the latest wanted status is posted)."""
    for arrival in list(lab.fake.arrivals):
        mine = arrival.description.startswith(f"Build #{build_id} ")
        if arrival.sha == sha and mine and arrival.state == "pending":
            return arrival
    return None


def _one(lab: Lab, web_url: str, index: int) -> dict[str, float]:
    repo = lab.repo(REPO)
    sha = repo.commit({"build-info.yaml": build_info(("stamp", [NOW])), "n.txt": str(index)})
    build_id, sent = lab.push(web_url, REPO, sha)
    accepted = time.time()
    record = lab.wait_finished(build_id)
    deadline = time.monotonic() + 10
    pending = final = None
    while time.monotonic() < deadline:
        pending = _first_pending(lab, sha, build_id)
        final = lab.fake.arrived(sha, f"Build #{build_id} passed")
        if pending is not None and final is not None:
            break
        time.sleep(0.005)
    running = lab.fake.arrived(sha, f"Build #{build_id} running")
    command = _stamp(lab, build_id)
    step = record["steps"][0] if record.get("steps") else {}
    if record["state"] != "success" or pending is None or command is None:
        raise RuntimeError(f"pickup build {build_id} went wrong: {record}")
    sample = {
        "accepted": accepted - sent,
        "pending_status": pending.at - sent,
        "queued_status_replaced": float("queued" not in pending.description),
        "worker_started": record["started_at"] - sent,
        "step_started": step["started_at"] - sent,
        "command_running": command - sent,
        "build_finished": record["finished_at"] - sent,
        "success_status": (final or record["finished_at"]) - sent,
    }
    if running is not None:  # none when the build ended before its running status went out
        sample["running_status"] = running - sent
    return sample


def _series(lab: Lab, web_url: str, count: int, gap: float, first: int) -> list[dict[str, float]]:
    samples = []
    for index in range(first, first + count):
        samples.append(_one(lab, web_url, index))
        time.sleep(gap)
    return samples


def _summaries(samples: list[dict[str, float]]) -> dict[str, Any]:
    keys = [k for k in (samples[0] if samples else {}) if k != "queued_status_replaced"]
    found: dict[str, Any] = {
        key: summary_ms([s[key] for s in samples if key in s]) for key in [*keys, "running_status"]
    }
    found["queued_status_replaced"] = int(sum(s["queued_status_replaced"] for s in samples))
    found["running_status_skipped"] = sum("running_status" not in s for s in samples)
    found["phases"] = {
        "queue (accepted → worker starts the build)": summary_ms(
            [s["worker_started"] - s["accepted"] for s in samples]
        ),
        "running status posted (worker starts → status at GitHub)": summary_ms(
            [s["running_status"] - s["worker_started"] for s in samples if "running_status" in s]
        ),
        "checkout + compile (worker → step starts)": summary_ms(
            [s["step_started"] - s["worker_started"] for s in samples]
        ),
        "container (step starts → command runs)": summary_ms(
            [s["command_running"] - s["step_started"] for s in samples]
        ),
    }
    return found


def run(lab: Lab, *, builds: int = 100, back_to_back: int = 20, warmup: int = 3) -> dict[str, Any]:
    lab.reset()
    settings = lab.settings()
    gap = lab.budget_refill_seconds(settings) + 0.1
    with lab.web(settings) as web, lab.workers(settings, 1):
        _series(lab, web.url, warmup, gap, 0)
        spaced = _series(lab, web.url, builds, gap, warmup)
        tight = _series(lab, web.url, back_to_back, 0.0, warmup + builds)
    return {
        "builds": builds,
        "gap_s": gap,
        "github_writes_per_second": settings.github_writes_per_second,
        "github_write_burst": settings.github_write_burst,
        "spaced": _summaries(spaced),
        "back_to_back": {"builds": back_to_back, **_summaries(tight)},
    }
