"""Relative times as pages show them, and ISO times as the API gives them."""

from __future__ import annotations

import pytest

from tingle.web.times import ago, iso

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z


@pytest.mark.parametrize(
    ("seconds_before", "shown"),
    [
        (0, "just now"),
        (9.9, "just now"),
        (42, "42 s ago"),
        (60, "1 min ago"),
        (3 * 60 + 59, "3 min ago"),
        (3600, "1 h ago"),
        (23 * 3600 + 3599, "23 h ago"),
        (86400, "1 day ago"),
        (29 * 86400, "29 days ago"),
        (30 * 86400, "2026-12-16"),  # a month or more: the date
        (-30, "just now"),  # another machine's clock a little ahead
        (-3600, "2027-01-15"),  # far in the future: the date, never "-1 h ago"
    ],
)
def test_ago(seconds_before: float, shown: str) -> None:
    assert ago(NOW - seconds_before, now=NOW) == shown


def test_iso() -> None:
    assert iso(NOW) == "2027-01-15T08:00:00Z"
    assert iso(None) is None
