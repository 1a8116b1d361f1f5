"""How many bytes of webhook bodies one web process holds at once, over all requests.

Bodies are read before their signature can be checked (the secret depends on the repository the
body names), so whatever is held is held for anyone who can open a connection. The budget counts
the bytes actually received, chunk by chunk, not the bytes a request declares: a sender that
declares 24 MB and trickles holds only what it sent, and filling the budget costs an attacker the
bandwidth of really sending it (GitHub's own deliveries, fast and mostly small, then still fit).

Nothing ever waits for room: a chunk that does not fit fails its request at once (503 with
Retry-After), and that request's bytes are given back as it ends. A single asyncio loop owns the
counters, so no lock is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tingle import metrics


class NoRoom(Exception):
    """The bytes do not fit in what is left of the budget."""


@dataclass
class BodyBudget:
    capacity: int
    held: int = 0
    peak: int = 0  # the most ever held at once (for tests and benchmarks)

    def free(self) -> int:
        return max(0, self.capacity - self.held)

    @contextmanager
    def account(self) -> Iterator[BodyHold]:
        """A hold for one request's body, given back whole when the block ends (also when the
        request fails or is cancelled)."""
        hold = BodyHold(self)
        try:
            yield hold
        finally:
            self._give_back(hold.bytes)
            hold.bytes = 0

    def _take(self, size: int) -> None:
        if size > self.free():
            raise NoRoom
        self.held += size
        self.peak = max(self.peak, self.held)
        metrics.WEBHOOK_BYTES_IN_FLIGHT.inc(size)

    def _give_back(self, size: int) -> None:
        self.held -= size
        metrics.WEBHOOK_BYTES_IN_FLIGHT.dec(size)


@dataclass
class BodyHold:
    budget: BodyBudget
    bytes: int = field(default=0)

    def take(self, size: int) -> None:
        """Count `size` more bytes of this body; NoRoom when they do not fit."""
        self.budget._take(size)
        self.bytes += size
