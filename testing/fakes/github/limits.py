"""GitHub's primary rate limit: every answer carries `X-RateLimit-*` headers counting down from
`rate_limit_remaining`; at zero, GitHub's rate-limit 403."""

from __future__ import annotations

import time

from starlette.responses import Response

from testing.fakes.github.responses import error
from testing.fakes.github.state import GitHubState

RATE_LIMIT = 5000  # requests per hour for a token; a test may lower `rate_limit_remaining`


class RateLimits(GitHubState):
    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.rate_limit_remaining = RATE_LIMIT
            self.rate_limit_reset = int(time.time()) + 3600

    def _rate_limited(self) -> Response | None:
        with self._lock:
            if self.rate_limit_remaining > 0:
                self.rate_limit_remaining -= 1
                return None
        return error(403, "API rate limit exceeded for installation. Wait for the reset.")

    def _rate_limit_headers(self) -> dict[str, str]:
        with self._lock:
            remaining, reset = self.rate_limit_remaining, self.rate_limit_reset
        return {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Used": str(max(0, RATE_LIMIT - remaining)),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Resource": "core",
        }
