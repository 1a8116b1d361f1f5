"""Times as people read them on a page ("3 min ago") and as programs read them (ISO 8601, UTC).

Pages show the relative time with the absolute one in the element's `title` and `datetime`; the
JSON API gives the ISO time beside the epoch seconds it always had.
"""

from __future__ import annotations

import time

MINUTE, HOUR, DAY = 60, 3600, 86400
WITHIN = 30 * DAY  # older than this: the date itself reads better than "41 days ago"
CLOCK_SKEW = 60  # a time this far in the future (another machine's clock) is "just now"


def iso(timestamp: float | None) -> str | None:
    """`2026-12-07T23:16:52Z`, or None."""
    if timestamp is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def absolute(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))


def ago(timestamp: float, now: float | None = None) -> str:
    """How long before `now` it was, in the largest whole unit: "42 s ago", "3 min ago",
    "5 h ago", "2 days ago"; past `WITHIN`, or in the future, the date."""
    seconds = (time.time() if now is None else now) - timestamp
    if -CLOCK_SKEW <= seconds < 10:
        return "just now"
    if seconds < 0 or seconds >= WITHIN:
        return time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    if seconds < MINUTE:
        return f"{int(seconds)} s ago"
    if seconds < HOUR:
        return f"{int(seconds // MINUTE)} min ago"
    if seconds < DAY:
        return f"{int(seconds // HOUR)} h ago"
    days = int(seconds // DAY)
    return f"{days} day{'s' if days > 1 else ''} ago"
