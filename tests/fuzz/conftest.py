"""Hypothesis profiles for the fuzz suite, and a tally of the cases each fuzz test ran.

Every profile is derandomized (the same cases on every run, so CI is stable) and keeps no example
database. `TINGLE_FUZZ_SCALE=10 pytest tests/fuzz` runs ten times as many cases, for a longer
search on a workstation; the counts are printed at the end of the session either way.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, settings

SCALE = float(os.environ.get("TINGLE_FUZZ_SCALE", "1"))
WEBHOOK_EXAMPLES = 300
COMPILER_EXAMPLES = 500

for name, examples in (("fuzz-webhook", WEBHOOK_EXAMPLES), ("fuzz-compiler", COMPILER_EXAMPLES)):
    settings.register_profile(
        name,
        max_examples=max(1, int(examples * SCALE)),
        derandomize=True,
        database=None,
        deadline=None,  # the suite's time is bounded by the counts; one slow case is no failure
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,  # the web app and Redis are shared by the cases
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


class Tally:
    """How many cases each fuzz test ran (hypothesis may stop early when it runs out of cases)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __call__(self, name: str) -> None:
        self.counts[name] += 1


_TALLY = pytest.StashKey[Tally]()


@pytest.fixture(scope="session")
def tally(request: pytest.FixtureRequest) -> Tally:
    return request.config.stash.setdefault(_TALLY, Tally())


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    found = config.stash.get(_TALLY, None)
    if found is not None and found.counts:
        terminalreporter.section("fuzz cases run")
        for name, count in sorted(found.counts.items()):
            terminalreporter.write_line(f"{name}: {count}")
