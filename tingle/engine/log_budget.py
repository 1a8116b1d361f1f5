"""How many bytes of log may still be stored: each step has a budget of its own
(TINGLE_STEP_LOG_LIMIT), and all steps of a build share one (TINGLE_BUILD_LOG_LIMIT), so a build
of many chatty steps is bounded too, not only each step.

A budget is spent whole lines at a time. The first line that does not fit exhausts it for good:
what is stored stays a prefix of the output, never a log with holes where long lines were left
out and shorter ones after them kept.
"""

from __future__ import annotations

from typing import Literal

Scope = Literal["step", "build"]


class LogBudget:
    def __init__(self, limit: int | None, scope: Scope) -> None:
        self.limit = limit  # None: no cap
        self.scope = scope
        self.used = 0
        self.exhausted = False

    def fits(self, size: int) -> bool:
        return not self.exhausted and (self.limit is None or self.used + size <= self.limit)

    def spend(self, size: int) -> None:
        self.used += size

    def exhaust(self) -> None:
        self.exhausted = True

    def notice(self, lines: int, size: int) -> str:
        """The line that tells a step's log was cut here, and how much of it was not kept."""
        lost = f"{lines} more lines ({size} bytes) were not kept"
        if self.scope == "build":
            cap = f"the build's logs reached their cap of {self.limit} bytes"
            return f"tingle: log truncated: {cap}; {lost}"
        return f"tingle: log truncated at {self.limit} bytes; {lost}"
