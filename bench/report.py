"""Turns the results into REPORT.md: the machine, every figure beside its target, the details of
each benchmark, the profiles, and the findings written by hand in bench/findings.md."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FINDINGS = Path(__file__).resolve().parent / "findings.md"
# What the bounded-storage figures mean, written by hand (shown in its section).
RETENTION_FINDINGS = Path(__file__).resolve().parent / "findings_retention.md"


@dataclass(frozen=True)
class Target:
    name: str
    goal: str
    figure: Callable[[dict[str, Any]], float | None]
    unit: str
    met: Callable[[float], bool]


def _get(data: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _ratio(top: Any, bottom: Any) -> float | None:
    if not isinstance(top, int | float) or not isinstance(bottom, int | float) or not bottom:
        return None
    return round(top / bottom, 3)


def _line_p95(r: dict[str, Any]) -> float | None:
    latency = _get(r, "logs", "latency") or {}
    found = _get(latency, "sse", "p95_ms") or _get(latency, "redis_xread", "p95_ms")
    return float(found) if found is not None else None


def _slowest_list_p95(r: dict[str, Any]) -> float | None:
    endpoints = _get(r, "retention", "listing", "endpoints") or {}
    found = [e["p95_ms"] for e in endpoints.values() if "p95_ms" in e]
    return max(found) if found else None


TARGETS = (
    Target(
        "Ingest throughput at saturation / bare ceiling",
        "≥ 0.5",
        lambda r: _ratio(
            _get(r, "ingest", "tingle", "saturation", "throughput_rps"),
            _get(r, "ingest", "bare", "saturation", "throughput_rps"),
        ),
        "x",
        lambda v: v >= 0.5,
    ),
    Target(
        "Ingest p99 latency at 200 req/s",
        "< 10 ms",
        lambda r: _get(r, "ingest", "tingle", "rate_200", "latency_ms", "p99"),
        "ms",
        lambda v: v < 10,
    ),
    Target(
        "Webhook → `pending` status at GitHub, p50",
        "< 100 ms",
        lambda r: _get(r, "pickup", "spaced", "pending_status", "p50_ms"),
        "ms",
        lambda v: v < 100,
    ),
    Target(
        "Webhook → first step's command running, p50",
        "< 300 ms",
        lambda r: _get(r, "pickup", "spaced", "command_running", "p50_ms"),
        "ms",
        lambda v: v < 300,
    ),
    Target(
        "Overhead: 5 trivial steps vs `docker run` loop",
        "≤ 1.3",
        lambda r: _get(r, "overhead", "ratio"),
        "x",
        lambda v: v <= 1.3,
    ),
    Target(
        "Log slowdown: 100,000 lines vs raw `docker run`",
        "≤ 1.15",
        lambda r: _get(r, "logs", "slowdown"),
        "x",
        lambda v: v <= 1.15,
    ),
    Target(
        "Line → reader latency, p95",
        "< 500 ms",
        _line_p95,
        "ms",
        lambda v: v < 500,
    ),
    Target(
        "Burst: 200 builds / 4 workers, drain vs ideal",
        "≤ 1.2",
        lambda r: _get(r, "burst", "ratio"),
        "x",
        lambda v: v <= 1.2,
    ),
    Target(
        "Redis `used_memory`, after all builds / after 1,000 past retention",
        "≤ 1.1",
        lambda r: _ratio(
            _get(r, "retention", "bounded", "final", "used_memory"),
            _get(r, "retention", "bounded", "first", "used_memory"),
        ),
        "x",
        lambda v: v <= 1.1,
    ),
    Target(
        "Build lists and badge over 100,000 records, slowest p95",
        "< 50 ms",
        _slowest_list_p95,
        "ms",
        lambda v: v < 50,
    ),
)


def scorecard(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for target in TARGETS:
        value = target.figure(results)
        rows.append(
            {
                "target": target.name,
                "goal": target.goal,
                "figure": value,
                "unit": target.unit,
                "met": None if value is None else target.met(float(value)),
            }
        )
    return rows


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _ms(summary: dict[str, Any] | None, *keys: str) -> list[Any]:
    summary = summary or {}
    return [summary.get(key, "-") for key in keys]


def _ingest(r: dict[str, Any]) -> str:
    ingest = r.get("ingest")
    if not ingest:
        return "_not run_"
    rows = []
    for server in ("tingle", "tingle_32_branches", "bare", "bare_one_redis_write"):
        for phase, f in (ingest.get(server) or {}).items():
            if not isinstance(f, dict):
                continue
            lat = f["latency_ms"]
            rows.append(
                [
                    server,
                    phase,
                    f["throughput_rps"],
                    lat["p50"],
                    lat["p99"],
                    lat["max"],
                    f["errors"]["status"] + f["errors"]["timeout"],
                    f["server_cpu_cores"],
                    f.get("cpu_ms_per_request", "-"),
                    f.get("redis_commands_per_request", "-"),
                    f["drain_s"],
                    f["sustained_rps"],
                    f.get("peak_rss_mib", "-"),
                ]
            )
    head = [
        "server",
        "phase",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "errors",
        "server cores",
        "CPU ms/req",
        "Redis cmds/req",
        "drain s",
        "sustained req/s",
        "peak RSS MiB",
    ]
    return (
        f"Payload {ingest['payload_bytes']} bytes, {ingest['seconds_per_phase']} s a phase after a "
        "2 s warm-up. `tingle`: every push on a branch of its own; the build, its job and its "
        "pending status are recorded, and the status handed to the workers (none run here). "
        "`tingle_32_branches`: 32 branches in turn, so each push supersedes (cancels) the "
        "previous build of its branch. `bare`: a starlette endpoint answering 202, the ceiling. "
        "`bare_one_redis_write`: the same, writing each body to a Redis stream first (one round "
        "trip): the floor of a receiver that records a delivery before answering. CPU ms/req "
        "counts the work after the answer too.\n\n" + _table(head, rows)
    )


def _durable_floor(r: dict[str, Any]) -> str:
    """The ingest ratio beside what any receiver writing each delivery to Redis reaches."""
    tingle = _get(r, "ingest", "tingle", "saturation", "throughput_rps")
    bare = _get(r, "ingest", "bare", "saturation", "throughput_rps")
    floor = _get(r, "ingest", "bare_one_redis_write", "saturation", "throughput_rps")
    if not (tingle and bare and floor):
        return ""
    return (
        f"For scale: the bare endpoint writing each body to Redis before answering (one round "
        f"trip, no parsing) reaches {_ratio(floor, bare)} x the bare ceiling; Tingle reaches "
        f"{_ratio(tingle, floor)} x that."
    )


def _pickup(r: dict[str, Any]) -> str:
    pickup = r.get("pickup")
    if not pickup:
        return "_not run_"
    parts = []
    for series in ("spaced", "back_to_back"):
        data = pickup[series]
        counts = ("queued_status_replaced", "running_status_skipped")
        rows = [
            [key, *_ms(value, "p50_ms", "p95_ms", "max_ms")]
            for key, value in data.items()
            if key not in ("phases", "builds", *counts)
        ]
        rows += [
            [f"_{key}_", *_ms(value, "p50_ms", "p95_ms", "max_ms")]
            for key, value in data["phases"].items()
        ]
        count = pickup["builds"] if series == "spaced" else data["builds"]
        what = (
            f"each webhook {pickup['gap_s']} s after the previous build ended"
            if series == "spaced"
            else "each webhook as soon as the previous build ended"
        )
        notes = "".join(
            f" `{key}`: {data[key]} of {count}." for key in counts if data.get(key) is not None
        )
        parts.append(
            f"**{series}** ({count} builds, {what}); times from the webhook sent:\n\n"
            + _table(["", "p50 ms", "p95 ms", "max ms"], rows)
            + (f"\n\nOnly the latest status wanted is posted.{notes}" if notes else "")
        )
    return "\n\n".join(parts)


def _profile(profile: dict[str, Any] | None, top: int = 12) -> str:
    if not profile or "self" not in profile:
        return f"_{(profile or {}).get('skipped', 'not run')}_"
    rows = [
        [f"{s['share']:.1%}", s["function"], f"{i['share']:.1%}", i["function"]]
        for s, i in zip(profile["self"][:top], profile["inclusive"][:top], strict=False)
    ]
    return f"{profile['samples']} samples (raw: `bench/results/{profile.get('raw', '')}`)\n\n" + (
        _table(["self", "function", "inclusive", "function"], rows)
    )


def _mib(value: Any) -> str:
    return "-" if not isinstance(value, int | float) else f"{value / 2**20:.1f}"


def _share(value: Any) -> str:
    return "-" if not isinstance(value, int | float) else f"{value:+.1%}"


def _retention(r: dict[str, Any]) -> str:
    data = r.get("retention")
    if not data:
        return "_not run_"
    machine = r.get("machine", {})
    parts = [
        f"Measured {_get(r, 'measured', 'retention', 'at') or '?'} on "
        f"{machine.get('nproc', '?')} cores ({machine.get('cpu', '?')}), "
        f"{machine.get('memory_gib', '?')} GiB, {machine.get('redis', '?')}; load average before: "
        f"{_get(r, 'load', 'retention') or '-'}."
    ]
    b = data.get("bounded")
    if b:
        first, final, settled = b.get("first") or {}, b.get("final") or {}, b.get("settled") or {}
        rows = [
            [name, s.get("t_s", "-"), s.get("ended", "-"), s.get("records", "-"),
             s.get("archive_backlog", "-"), s.get("keys", "-"), _mib(s.get("used_memory"))]
            for name, s in (("first (1,000 past the first retention window)", first),
                            ("final (the last build ended)", final),
                            ("settled (retention later)", settled))
        ]  # fmt: skip
        parts.append(
            f"**Redis stays bounded?** {b['ended']} of {b['builds']} builds, "
            f"{b['log_bytes_per_build']:,} bytes of log each, through webhook → admission → arq "
            f"→ runner → log writer → Redis → archiver → retention: {b['workers']} workers x "
            f"{b['concurrency_per_worker']} builds, {b['engine']}; janitor every "
            f"{b['janitor_s']} s, TINGLE_RETENTION {b['retention_s']} s, "
            f"TINGLE_KEEP_BUILDS_PER_BRANCH {b['keep_builds_per_branch']} over {b['branches']} "
            f"branches, archive delay 0; at most {b['in_flight_max']} builds unfinished. "
            f"{b['elapsed_s']} s in all: {b['builds_per_s']} builds/s "
            f"({b['builds_per_s_steady']} past the first reading); webhook answered in "
            f"{_ms(b['webhook'], 'p50_ms', 'p95_ms', 'max_ms')} ms (p50, p95, max), "
            f"{b['webhook_failure_count']} failed; arq jobs {b.get('jobs')}.\n\n"
            + _table(
                [
                    "reading",
                    "s",
                    "builds ended",
                    "records",
                    "archive backlog",
                    "keys",
                    "used_memory MiB",
                ],
                rows,
            )
            + f"\n\nused_memory growth, final vs first: {_share(b['used_memory_growth'])}. "
            f"Archive backlog at most {b['archive_backlog_max']} builds "
            f"({b['archive_backlog_max_steady']} past the first reading); archive files "
            f"{b['archive_files']}."
        )
        kinds = sorted(set(b["keys_first"]) | set(b["keys_final"]) | set(b["keys_settled"]))
        parts.append(
            "Keys by kind:\n\n"
            + _table(
                ["kind", "first", "final", "settled", "bytes at final (sampled)"],
                [
                    [
                        k,
                        b["keys_first"].get(k, 0),
                        b["keys_final"].get(k, 0),
                        b["keys_settled"].get(k, 0),
                        b["bytes_at_final"].get(k, ""),
                    ]
                    for k in kinds
                ],
            )
        )
        timeline = b.get("timeline") or []
        if timeline:
            parts.append(
                "Over time (every few seconds):\n\n"
                + _table(
                    ["s", "admitted", "ended", "records", "archive backlog", "used_memory MiB"],
                    [
                        [
                            s["t_s"],
                            s["admitted"],
                            s["ended"],
                            s["records"],
                            s["archive_backlog"],
                            _mib(s["used_memory"]),
                        ]
                        for s in timeline
                    ],
                )
            )
    listing = data.get("listing")
    if listing:
        parts.append(
            f"**Lists over a long history.** {listing['records']:,} records "
            f"(BuildStore.save, {listing['records_per_s']:,}/s) over {listing['repos']} "
            f"repositories ({listing['builds_in_repo']} in the one listed), branches `main` (a "
            "third of pushes) and `feature-0..19`, 10 % pull requests, 70 % success, 15 % "
            "failure, 10 % cancelled, 5 % error; Redis used_memory "
            f"{_mib(listing['redis_used_memory'])} MiB. {listing['requests_each']} sequential "
            "requests each over HTTP to `tingle serve`, after 5 warm-up:\n\n"
            + _table(
                ["request", "items", "p50 ms", "p95 ms", "p99 ms", "max ms", "< 50 ms"],
                [
                    [
                        f"`{e['path']}`",
                        e.get("items") if e.get("items") is not None else "-",
                        *_ms(e, "p50_ms", "p95_ms", "p99_ms", "max_ms"),
                        "yes" if e.get("p95_ms", 1e9) < 50 else "**no**",
                    ]
                    for e in listing["endpoints"].values()
                ],
            )
        )
    if RETENTION_FINDINGS.exists():
        parts.append(RETENTION_FINDINGS.read_text().strip())
    return "\n\n".join(parts)


def render(results: dict[str, Any]) -> str:
    machine = results.get("machine", {})
    out = ["# Tingle benchmarks", ""]
    elapsed = results.get("elapsed_s", {})
    runs = ", ".join(f"{k}: {v} s" for k, v in elapsed.items()) if isinstance(elapsed, dict) else ""
    out.append(
        f"Last measured {results.get('started', '?')} by `bash bench/run.sh` (`python -m bench`; "
        f"`--only NAME` measures one benchmark again; runs took {runs or '?'}). Every figure is in "
        "`bench/results/results.json`. Each ratio compares two sides measured alternately in the "
        "same run."
    )
    out += ["", "## Machine", "", _table(["", ""], [[k, v] for k, v in machine.items()])]
    measured = results.get("measured", {})
    if measured:
        out += ["", "Each benchmark was measured on the tree as it was then (other engineers "
                "commit and edit alongside):", "", _table(
                    ["benchmark", "measured", "tree", "load average (1 min) before"],
                    [[name, m["at"], m["commit"], results.get("load", {}).get(name, "-")]
                     for name, m in measured.items()])]  # fmt: skip
    load = results.get("load", {})
    if load and not measured:
        shown = ", ".join(f"{k} {v}" for k, v in load.items())
        out += ["", f"Load average (1 min) before each benchmark: {shown}. Other work on this "
                "shared machine (other sessions' tests) shows here."]  # fmt: skip
    out += ["", "## Figures against targets", ""]
    rows = [
        [row["target"], row["goal"],
         "-" if row["figure"] is None else f"{row['figure']} {row['unit']}",
         {True: "met", False: "**missed**", None: "not run"}[row["met"]]]
        for row in scorecard(results)
    ]  # fmt: skip
    out.append(_table(["what", "target", "measured", ""], rows))
    floor = _durable_floor(results)
    if floor:
        out += ["", floor]
    out += ["", "## Webhook ingest", "", _ingest(results)]
    out += ["", "## Pickup", "", _pickup(results)]
    overhead = results.get("overhead")
    if overhead:
        out += ["", "## Overhead", "", _table(
            ["", "runs (s)"],
            [["Tingle, webhook → success status", overhead["tingle_webhook_to_success_s"]],
             ["Tingle, worker build (started → finished)", overhead["tingle_worker_build_s"]],
             ["`docker run --rm` x 5 in a shell loop", overhead["docker_run_loop_s"]],
             ["ratio of medians (webhook → success)", overhead["ratio"]],
             ["ratio of medians (worker only)", overhead["ratio_worker_only"]]],
        )]  # fmt: skip
    logs = results.get("logs")
    if logs:
        latency = logs["latency"]
        out += ["", "## Logs", "", _table(
            ["", ""],
            [["Tingle step (started → finished), s", logs["tingle_step_s"]],
             ["raw `docker run` to a file, s", logs["docker_run_s"]],
             ["lines stored per run (100,000 + the command line)", logs["lines_stored"]],
             ["slowdown (ratio of medians)", logs["slowdown"]],
             ["SSE endpoint present", logs["sse_endpoint"]],
             ["line → SSE client, ms (p50 / p95 / max)",
              _ms(latency.get("sse"), "p50_ms", "p95_ms", "max_ms")],
             ["line → Redis XREAD, ms (p50 / p95 / max)",
              _ms(latency.get("redis_xread"), "p50_ms", "p95_ms", "max_ms")]],
        )]  # fmt: skip
    burst = results.get("burst")
    if burst:
        out += ["", "## Burst", "", _table(
            ["", ""],
            [[key, value] for key, value in burst.items()
             if key not in ("redis_used_memory_before", "redis_used_memory_after")],
        )]  # fmt: skip
    out += ["", "## Bounded storage (issue 14)", "", _retention(results)]
    out += ["", "## Profiles (py-spy, 100 Hz, non-blocking)", ""]
    out += [
        "### Web process at saturation",
        "",
        _profile(_get(results, "ingest", "profile_web_saturation")),
    ]
    out += [
        "",
        "### Worker streaming 100,000 lines",
        "",
        _profile(_get(results, "logs", "profile_worker_flood")),
    ]
    if FINDINGS.exists():
        out += ["", FINDINGS.read_text().strip()]
    return "\n".join(out) + "\n"
