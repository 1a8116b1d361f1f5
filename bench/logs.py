"""Logs: a step printing 100,000 lines (about 10 MB) under Tingle against the same command in a raw
`docker run`, and how long a line takes from the container to a reader.

Line latency: a step prints the kernel clock (microseconds) every ~25 ms; two readers note when
each line reaches them: a browser-like client on the web app's server-sent events endpoint
(`/api/builds/{id}/steps/{n}/events`) and, beside it, a Redis XREAD on the step's log stream (the
part of the path that is the worker's). When the web app has no SSE endpoint, only XREAD is
measured, and the report says so.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx

from bench import profiling
from bench.lab import IMAGE, NOW, Lab, Process, build_info
from bench.stats import median, summary_ms

REPO = "bench/logs"
LINES = 100_000
# seq -w pads to 6 digits: 6 + 1 + 93 + newline = 101 bytes a line, 10.1 MB in all.
FLOOD = f"seq -w {LINES} | sed 's/$/ {'x' * 93}/'"
TICKS = 200
TICKER = [f"sleep 2; for i in $(seq {TICKS}); do {NOW}; usleep 20000; done"]


def has_sse(web_url: str) -> bool:
    """True when the web app routes the SSE endpoint (its 404 for an unknown build is JSON)."""
    answer = httpx.get(f"{web_url}/api/builds/0/steps/0/events", timeout=5)
    kind = str(answer.headers.get("content-type", ""))
    return kind.startswith(("application/json", "text/event"))


@dataclass(frozen=True)
class Stored:
    """What the log stream of the flood step holds."""

    lines: int  # all lines, the step's "+ command" line included
    distinct: int  # distinct flood lines (each carries its number)
    renumbered: int  # entries whose first line number does not follow the previous entry's

    def to_dict(self) -> dict[str, int]:
        return {"lines": self.lines, "distinct": self.distinct, "renumbered": self.renumbered}


def _stored(lab: Lab, build_id: str) -> Stored:
    lines = 0
    distinct: set[bytes] = set()
    renumbered = 0
    expected = 1
    for _, fields in lab.log_entries(build_id, 0):
        chunk = fields[b"t"].split(b"\n")
        first = int(fields[b"n"])
        renumbered += first != expected
        expected = first + len(chunk)
        lines += len(chunk)
        distinct.update(line for line in chunk if line[:1].isdigit())
    return Stored(lines, len(distinct), renumbered)


def _flood_tingle(lab: Lab, web_url: str, index: int) -> tuple[float, Stored]:
    sha = lab.repo(REPO).commit(
        {"build-info.yaml": build_info(("flood", [FLOOD])), "n": str(index)}
    )
    build_id, _ = lab.push(web_url, REPO, sha)
    record = lab.wait_finished(build_id, timeout=300)
    if record["state"] != "success":
        raise RuntimeError(f"log build {build_id} failed: {record}")
    step = record["steps"][0]
    return step["finished_at"] - step["started_at"], _stored(lab, build_id)


def _flood_raw(out: Path) -> float:
    start = time.perf_counter()
    with out.open("wb") as sink:
        subprocess.run(
            ["docker", "run", "--rm", IMAGE, "sh", "-c", FLOOD],
            stdout=sink,
            check=True,
            timeout=300,
        )
    return time.perf_counter() - start


def _read_sse(url: str, got: list[tuple[float, str]], ready: threading.Event) -> None:
    with (
        httpx.Client(timeout=httpx.Timeout(10, read=60)) as client,
        client.stream("GET", url, headers={"Accept": "text/event-stream"}) as answer,
    ):
        ready.set()
        for line in answer.iter_lines():
            now = time.time()
            if line.startswith("data: "):
                data = json.loads(line[6:])
                got.extend((now, text) for text in data.get("lines", []))


def _read_redis(lab: Lab, key: str, got: list[tuple[float, str]], stop: threading.Event) -> None:
    client = lab.redis()
    cursor = "0-0"
    while not stop.is_set():
        found = cast(
            list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]],
            client.xread({key: cursor}, block=500, count=100),
        )
        now = time.time()
        for _, entries in found or []:
            for entry_id, fields in entries:
                cursor = entry_id.decode()
                got.extend((now, text) for text in fields[b"t"].decode().split("\n"))


def _latencies(got: list[tuple[float, str]], since: float) -> list[float]:
    found = []
    for received, text in got:
        try:
            printed = float(text)
        except ValueError:
            continue
        if printed >= since:  # lines printed before the reader was connected are history
            found.append(received - printed)
    return found


def _line_latency(lab: Lab, web_url: str, sse: bool) -> dict[str, Any]:
    sha = lab.repo(REPO).commit({"build-info.yaml": build_info(("ticker", TICKER))})
    build_id, _ = lab.push(web_url, REPO, sha)
    deadline = time.monotonic() + 60
    while True:  # readers connect once the step exists (the SSE endpoint needs it)
        record = lab.record(build_id)
        if record and record.get("steps") and record["steps"][0]["state"] != "pending":
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"ticker build {build_id} did not start")
        time.sleep(0.005)
    via_sse: list[tuple[float, str]] = []
    via_redis: list[tuple[float, str]] = []
    ready, stop = threading.Event(), threading.Event()
    readers = [
        threading.Thread(
            target=_read_redis, args=(lab, f"tingle:log:{build_id}:0", via_redis, stop)
        )
    ]
    if sse:
        url = f"{web_url}/api/builds/{build_id}/steps/0/events?after=0-0"
        readers.append(threading.Thread(target=_read_sse, args=(url, via_sse, ready)))
    else:
        ready.set()
    for reader in readers:
        reader.start()
    ready.wait(10)
    since = time.time()
    lab.wait_finished(build_id)
    time.sleep(1)
    stop.set()
    for reader in readers:
        reader.join(30)
    found: dict[str, Any] = {
        "lines_printed": TICKS,
        "redis_xread": summary_ms(_latencies(via_redis, since)),
    }
    if sse:
        found["sse"] = summary_ms(_latencies(via_sse, since))
    return found


def _profile_flood(lab: Lab, web_url: str, worker: Process, out_dir: Path) -> dict[str, Any]:
    """A py-spy profile of the worker while it streams the flood (a run of its own)."""
    output = out_dir / "profile-worker-flood.txt"
    recording = profiling.record(worker.pid, 30, output)
    if recording is None:
        return {"skipped": "py-spy not installed"}
    time.sleep(0.5)
    _flood_tingle(lab, web_url, 99)
    recording.popen.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT
    found = recording.finish()
    if found is None:
        return {"skipped": "py-spy wrote no profile"}
    return {"raw": output.name, **profiling.summarise(found)}


def run(lab: Lab, out_dir: Path, *, rounds: int = 3) -> dict[str, Any]:
    lab.reset()
    settings = lab.settings()
    tingle, raw, stored = [], [], []
    with lab.web(settings) as web, lab.workers(settings, 1) as workers:
        sse = has_sse(web.url)
        _flood_raw(lab.root / "flood.txt")  # warm-up
        for index in range(rounds):
            seconds, lines = _flood_tingle(lab, web.url, index)
            tingle.append(seconds)
            stored.append(lines.to_dict())
            raw.append(_flood_raw(lab.root / "flood.txt"))
        latency = _line_latency(lab, web.url, sse)
        profile = _profile_flood(lab, web.url, workers[0], out_dir)
    return {
        "lines": LINES,
        "bytes": (lab.root / "flood.txt").stat().st_size
        if (lab.root / "flood.txt").exists()
        else 0,
        "tingle_step_s": [round(x, 3) for x in tingle],
        "docker_run_s": [round(x, 3) for x in raw],
        "lines_stored": stored,
        "slowdown": round(median(tingle) / median(raw), 3),
        "sse_endpoint": sse,
        "latency": latency,
        "profile_worker_flood": profile,
    }
