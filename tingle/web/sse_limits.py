"""How many live-log streams one web process serves: per client address and in all.

A stream is a connection held open for minutes; anyone who may read logs (everyone, with
`TINGLE_PUBLIC_READ`) can open many. Past a limit the answer is 429 with `Retry-After`, saying
which limit it was. Counted in this process only (a stream is this process's cost, and it ends
with it); the address is what uvicorn gives as the client, the proxy's `X-Forwarded-For` when the
proxy is trusted (`--forwarded-allow-ips`), else the connection's peer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tingle import metrics

RETRY_AFTER_SECONDS = 30  # streams last minutes: coming back sooner would mostly be refused again


@dataclass(frozen=True)
class Refusal:
    limit: str  # "per_address" or "total" (metrics.SSE_LIMITS)
    allowed: int
    retry_after: int = RETRY_AFTER_SECONDS

    @property
    def message(self) -> str:
        if self.limit == "per_address":
            return f"too many live-log streams from your address (at most {self.allowed})"
        return f"too many live-log streams on this server (at most {self.allowed})"


@dataclass
class SseLimits:
    per_address: int
    total: int
    _open: Counter[str] = field(default_factory=Counter)

    def open(self, address: str) -> Refusal | None:
        """Count a stream from `address`; a Refusal (nothing counted) when a limit is full."""
        refusal = None
        if self._open[address] >= self.per_address:
            refusal = Refusal("per_address", self.per_address)
        elif self._open.total() >= self.total:
            refusal = Refusal("total", self.total)
        if refusal is not None:
            metrics.observe_sse_refused(refusal.limit)
            return refusal
        self._open[address] += 1
        metrics.SSE_OPEN.inc()
        return None

    def close(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]  # no entry left behind per address ever seen
        metrics.SSE_OPEN.dec()

    def count(self) -> int:
        return self._open.total()
