"""Load from `wrk` (C, one thread keeps thousands of requests a second going) with a Lua script that
sends signed push payloads, each with its own X-GitHub-Delivery.

The bodies are signed here, in Python, and written into the script: HMAC is not in wrk's Lua. At a
fixed rate each connection waits an exponentially distributed pause between requests (Poisson
arrivals at `rate` per second over all connections); at saturation there is no pause.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testing.payloads import push_payload
from tingle.forge.signature import sign

_SCRIPT = """
-- Bodies and signatures come from a data file: per record a signature line, a length line, the
-- body, a newline. Read at load time, as wrk checks request() in its main Lua state too.
local bodies, signatures = {}, {}
do
  local file = assert(io.open("%(data)s", "rb"))
  while true do
    local signature = file:read("*l")
    if not signature then break end
    local length = tonumber(file:read("*l"))
    bodies[#bodies + 1] = file:read(length)
    signatures[#signatures + 1] = signature
    file:read("*l")
  end
  file:close()
end
local mean_pause_ms = %(mean_pause_ms)f
local run = "%(run)s"
local threads = 0
local counter = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  math.randomseed(os.time() + (tid or 0))
end

function request()
  counter = counter + 1
  local i = (counter %% #bodies) + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["User-Agent"] = "GitHub-Hookshot/bench",
    ["X-GitHub-Event"] = "push",
    ["X-GitHub-Delivery"] = run .. "-" .. tostring(tid or 0) .. "-" .. counter,
    ["X-Hub-Signature-256"] = signatures[i],
  }
  return wrk.format("POST", "/webhooks/github", headers, bodies[i])
end

function delay()
  if mean_pause_ms <= 0 then return 0 end
  return math.floor(-math.log(1 - math.random()) * mean_pause_ms)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}, ' ..
    '"latency_us": {"p50": %%d, "p90": %%d, "p99": %%d, "p999": %%d, "max": %%d, "mean": %%f}}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    errors: dict[str, int]
    latency_ms: dict[str, float]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "throughput_rps": round(self.throughput, 1),
            "errors": self.errors,
            "latency_ms": self.latency_ms,
        }


def signed_bodies(
    secret: str, repo: str, count: int, branch_prefix: str = "feature", branches: int | None = None
) -> list[tuple[str, str]]:
    """`count` distinct push payloads (each its own commit; its own branch, or `branches` branches
    in turn) and their signatures. Each body is a new event: a body sent again is a replay, which
    Tingle answers as a duplicate without building."""
    found = []
    for i in range(count):
        branch = f"{branch_prefix}-{i % branches if branches else i}"
        payload = push_payload(repo, secrets.token_hex(20), branch=branch)
        body = json.dumps(payload)
        found.append((body, sign(secret.encode(), body.encode())))
    return found


def write_script(path: Path, bodies: list[tuple[str, str]], rate: float, connections: int) -> None:
    """A wrk script sending `bodies` in turn (cycling), at `rate` per second (0: flat out)."""
    data = path.with_suffix(".bodies")
    with data.open("wb") as out:
        for body, signature in bodies:
            raw = body.encode()
            out.write(f"{signature}\n{len(raw)}\n".encode() + raw + b"\n")
    mean_pause_ms = connections * 1000.0 / rate if rate > 0 else 0.0
    path.write_text(
        _SCRIPT % {"data": str(data), "mean_pause_ms": mean_pause_ms, "run": secrets.token_hex(4)}
    )


def run_wrk(
    url: str,
    script: Path,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
) -> WrkResult:
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk (bench/run.sh does)")
    command = [
        binary, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
        "-s", str(script), f"{url}/webhooks/github",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    match = re.search(r"^WRK_JSON (.*)$", done.stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk failed: {done.stdout}\n{done.stderr}")
    data = json.loads(match.group(1))
    latency = {key: round(value / 1000, 2) for key, value in data["latency_us"].items()}
    return WrkResult(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        errors={key: int(value) for key, value in data["errors"].items()},
        latency_ms=latency,
    )
