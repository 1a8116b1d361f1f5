"""`python -m bench [--only ingest,pickup,...] [--quick]`: run the benchmarks, write the results.

Writes bench/results/results.json (every figure) and bench/results/REPORT.md (figures beside
targets, the machine, the profiles, bench/findings.md). With --only, the other benchmarks' figures
are kept from the previous results.json, so one benchmark can be measured again on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import burst, ingest, logs, machine, overhead, pickup, report, retention
from bench.lab import Lab

RESULTS = Path(__file__).resolve().parent / "results"
NAMES = ("ingest", "pickup", "overhead", "logs", "burst", "retention")


def _benchmarks(quick: bool) -> dict[str, Callable[[Lab], dict[str, Any]]]:
    return {
        "ingest": lambda lab: ingest.run(lab, RESULTS, seconds=4 if quick else 10),
        "pickup": lambda lab: pickup.run(
            lab, builds=10 if quick else 100, back_to_back=5 if quick else 20
        ),
        "overhead": lambda lab: overhead.run(lab, rounds=2 if quick else 5),
        "logs": lambda lab: logs.run(lab, RESULTS, rounds=1 if quick else 5),
        "burst": lambda lab: burst.run(lab, builds=40 if quick else 200),
        "retention": lambda lab: retention.run(
            lab, builds=1500 if quick else 10_000, records=20_000 if quick else 100_000
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only", default=",".join(NAMES), help="comma-separated: " + " ".join(NAMES)
    )
    parser.add_argument("--quick", action="store_true", help="fewer builds and shorter runs")
    parser.add_argument(
        "--report-only", action="store_true", help="write REPORT.md from results.json, run nothing"
    )
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(NAMES)
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "results.json"
    results: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    if args.report_only:
        (RESULTS / "REPORT.md").write_text(report.render(results))
        return 0
    results.update(
        started=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine.describe(),
        quick=args.quick,
    )
    results.setdefault("load", {})
    benchmarks = _benchmarks(args.quick)
    begun = time.monotonic()
    with Lab() as lab:
        for name in chosen:
            results["load"][name] = round(os.getloadavg()[0], 2)
            results.setdefault("measured", {})[name] = {
                "at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "commit": machine.git_state(),
            }
            print(f"bench: {name} ...", flush=True)
            started = time.monotonic()
            results[name] = benchmarks[name](lab)
            print(f"bench: {name} done in {time.monotonic() - started:.0f}s", flush=True)
            path.write_text(json.dumps(results, indent=2) + "\n")
    results.setdefault("elapsed_s", {})[",".join(chosen)] = round(time.monotonic() - begun)
    path.write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "REPORT.md").write_text(report.render(results))
    for row in report.scorecard(results):
        verdict = {True: "met", False: "MISSED", None: "not run"}[row["met"]]
        print(f"  {row['target']}: {row['figure']} {row['unit']} (target {row['goal']}) {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
