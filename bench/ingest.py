"""Webhook ingest: signed push payloads into one `tingle serve` process, at fixed rates and at
saturation, beside a bare starlette endpoint answering 202 in the same set-up (the ceiling), and
the same endpoint writing each body to Redis before answering (the floor of a durable receiver).

Tingle runs as deployed: each accepted webhook stores a build and its job, and after answering
records the `pending` status and hands it to the workers (no worker runs here: posting it is
measured by the pickup benchmark). Work left after wrk stops is counted: `drain_s` is how long the
web process stayed busy afterwards, and `sustained_rps` counts it in (requests / (run + drain)).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import profiling
from bench.lab import WEBHOOK_SECRET, Lab, Process, cpu_seconds, rss_mib, wait_idle
from bench.wrk import run_wrk, signed_bodies, write_script


@dataclass(frozen=True)
class Phase:
    name: str
    rate: float  # requests per second over all connections; 0: as fast as it answers
    connections: int


PHASES = (Phase("rate_50", 50, 4), Phase("rate_200", 200, 8), Phase("saturation", 0, 32))
WARMUP_SECONDS = 2.0
MAX_BODIES = 6000  # distinct signed bodies a run cycles through (9 KB each)


def _bodies(phase: Phase, seconds: float, branches: int | None) -> list[tuple[str, str]]:
    """Signed bodies for one wrk run: every request on a branch of its own (`branches` None),
    or `branches` branches in turn, so each push supersedes the previous one of its branch."""
    count = min(MAX_BODIES, int((phase.rate or 400) * seconds * 1.3) + 64)
    tag = f"{phase.name}-{secrets.token_hex(3)}"
    return signed_bodies(
        WEBHOOK_SECRET, "bench/ingest", count, branch_prefix=tag, branches=branches
    )


def _phase(
    server: Process,
    script_dir: Path,
    phase: Phase,
    seconds: float,
    redis_commands: Callable[[], int],
    branches: int | None = None,
) -> dict[str, Any]:
    warmup = script_dir / f"{phase.name}-warmup.lua"
    write_script(warmup, _bodies(phase, WARMUP_SECONDS, branches), phase.rate, phase.connections)
    run_wrk(server.url, warmup, seconds=WARMUP_SECONDS, connections=phase.connections)
    script = script_dir / f"{phase.name}.lua"
    write_script(script, _bodies(phase, seconds, branches), phase.rate, phase.connections)
    wait_idle(server.pid)
    cpu_before, commands_before = cpu_seconds(server.pid), redis_commands()
    result = run_wrk(server.url, script, seconds=seconds, connections=phase.connections)
    cpu_run = cpu_seconds(server.pid) - cpu_before
    drain = wait_idle(server.pid)
    cpu_all = cpu_seconds(server.pid) - cpu_before
    commands = redis_commands() - commands_before
    figures = result.to_dict()
    figures.update(
        rate_target=phase.rate or "saturation",
        connections=phase.connections,
        branches=branches or "one per request",
        server_cpu_cores=round(cpu_run / result.seconds, 2),
        # CPU per request, the background work after the answer included: unlike req/s, it
        # hardly depends on how much of the machine other processes take.
        cpu_ms_per_request=round(cpu_all * 1000 / max(1, result.requests), 2),
        drain_s=round(drain, 2),
        redis_commands_per_request=round(commands / max(1, result.requests), 1),
        sustained_rps=round(result.requests / (result.seconds + drain), 1),
        **rss_mib(server.pid),
    )
    return figures


def run(lab: Lab, out_dir: Path, *, seconds: float = 10.0) -> dict[str, Any]:
    script_dir = lab.root / "wrk"
    script_dir.mkdir(exist_ok=True)
    sample = signed_bodies(WEBHOOK_SECRET, "bench/ingest", 1)
    results: dict[str, Any] = {"payload_bytes": len(sample[0][0]), "seconds_per_phase": seconds}
    count = lab.commands_processed
    saturation = PHASES[-1]

    lab.reset()
    tingle: dict[str, Any] = {}
    # Statuses go out without a write budget here, as in the tests: under any budget GitHub
    # would accept (about a write a second), the backlog after a 200/s run never drains.
    with lab.web(lab.settings(github_writes_per_second=0.0)) as web:
        for phase in PHASES:
            tingle[phase.name] = _phase(web, script_dir, phase, seconds, count)
        tingle["builds_stored"] = lab.count("tingle:builds")
        tingle["builds_told_to_workers"] = lab.redis().llen("tingle:feedback:changed")
        results["profile_web_saturation"] = _profile(web, script_dir, out_dir)
    results["tingle"] = tingle

    lab.reset()
    with lab.web(lab.settings(github_writes_per_second=0.0)) as web:
        results["tingle_32_branches"] = {
            "saturation": _phase(web, script_dir, saturation, seconds, count, branches=32)
        }

    with lab.app("bench.bare") as bare:
        results["bare"] = {
            phase.name: _phase(bare, script_dir, phase, seconds, count, branches=256)
            for phase in PHASES
        }
    with lab.app("bench.bare", {"BENCH_REDIS_URL": lab.redis_url}) as bare:
        results["bare_one_redis_write"] = {
            phase.name: _phase(bare, script_dir, phase, seconds, count, branches=256)
            for phase in PHASES[1:]
        }
    return results


def _profile(web: Process, script_dir: Path, out_dir: Path) -> dict[str, Any]:
    """A py-spy profile of the web process at saturation (a separate run: sampling costs CPU)."""
    seconds = 8
    output = out_dir / "profile-web-saturation.txt"
    script = script_dir / "profile.lua"
    phase = PHASES[-1]
    write_script(script, _bodies(phase, seconds, None), phase.rate, phase.connections)
    recording = profiling.record(web.pid, seconds, output)
    if recording is None:
        return {"skipped": "py-spy not installed"}
    time.sleep(0.5)
    run_wrk(web.url, script, seconds=seconds, connections=PHASES[-1].connections)
    found = recording.finish()
    wait_idle(web.pid)
    if found is None:
        return {"skipped": "py-spy wrote no profile"}
    return {
        "raw": output.name,
        "paths": profiling.attribute(found, profiling.WEB_PATHS),
        **profiling.summarise(found),
    }
