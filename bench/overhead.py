"""Overhead: a build of five trivial steps under Tingle against the same five commands run with
`docker run --rm` (on the engine's default network, as Tingle's steps) in a shell loop,
alternating, in the same run.

Tingle's time is what a developer waits for: from the webhook sent to the `success` status at
the GitHub fake (pickup, checkout, five containers, logs, statuses). The worker's own share (build
started → finished, checkout included) is given beside it.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

from bench.lab import IMAGE, Lab, build_info
from bench.stats import median

REPO = "bench/overhead"
COMMANDS = [f"echo step {i}" for i in range(1, 6)]
SHELL_LOOP = (
    "for i in 1 2 3 4 5; do "
    f'docker run --rm {IMAGE} sh -c "echo step $i" >/dev/null || exit 1; done'
)


def _tingle(lab: Lab, web_url: str, index: int) -> tuple[float, float]:
    steps = [(f"step{i}", [command]) for i, command in enumerate(COMMANDS, 1)]
    sha = lab.repo(REPO).commit({"build-info.yaml": build_info(*steps), "n.txt": str(index)})
    build_id, sent = lab.push(web_url, REPO, sha)
    record = lab.wait_finished(build_id)
    if record["state"] != "success":
        raise RuntimeError(f"overhead build {build_id} failed: {record}")
    deadline = time.monotonic() + 10
    while (done := lab.fake.arrived(sha, f"Build #{build_id} passed")) is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no success status for build {build_id}")
        time.sleep(0.005)
    return done - sent, record["finished_at"] - record["started_at"]


def _shell_loop() -> float:
    start = time.perf_counter()
    subprocess.run(["sh", "-c", SHELL_LOOP], check=True, timeout=120)
    return time.perf_counter() - start


def run(lab: Lab, *, rounds: int = 5) -> dict[str, Any]:
    lab.reset()
    settings = lab.settings()
    tingle, worker, raw = [], [], []
    with lab.web(settings) as web, lab.workers(settings, 1):
        _tingle(lab, web.url, 0)  # warm-up: page cache, image layers, connections
        _shell_loop()
        for index in range(1, rounds + 1):
            time.sleep(lab.budget_refill_seconds(settings))  # each round as a separate push
            end_to_end, in_worker = _tingle(lab, web.url, index)
            tingle.append(end_to_end)
            worker.append(in_worker)
            raw.append(_shell_loop())
    return {
        "rounds": rounds,
        "tingle_webhook_to_success_s": [round(x, 3) for x in tingle],
        "tingle_worker_build_s": [round(x, 3) for x in worker],
        "docker_run_loop_s": [round(x, 3) for x in raw],
        "ratio": round(median(tingle) / median(raw), 3),
        "ratio_worker_only": round(median(worker) / median(raw), 3),
    }
