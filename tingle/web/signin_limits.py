"""How many sign-in attempts may fail: per client address and in all, per window, in Redis (so
every web process counts together).

Each attempt takes one from both counters before the credential is checked (one Lua script, so
parallel guesses cannot slip past the limit) and a good one gives it back. Once a counter is full,
every attempt from that address (or every attempt at all) is refused until its window ends, the
right credential too: a guesser cannot learn that a guess was right.
"""

from __future__ import annotations

import math

from redis.asyncio import Redis

# KEYS: the address's counter, the global counter; ARGV: address limit, global limit, window ms.
# Returns 0 (go ahead, counted) or the milliseconds until the full counter's window ends.
_TAKE = """
for i = 1, 2 do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used >= tonumber(ARGV[i]) then
    local left = redis.call('PTTL', KEYS[i])
    if left < 1 then left = tonumber(ARGV[3]) end
    return left
  end
end
for i = 1, 2 do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
end
return 0
"""

# A good attempt gives its place back (only while the counter still exists).
_GIVE_BACK = """
for i = 1, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('DECR', KEYS[i]) end
end
return 0
"""


class SigninLimits:
    def __init__(
        self, redis: Redis, prefix: str, per_address: int, total: int, window_seconds: int
    ) -> None:
        self._prefix = prefix
        self._limits = (per_address, total, window_seconds * 1000)
        self._take = redis.register_script(_TAKE)
        self._give_back = redis.register_script(_GIVE_BACK)

    def _keys(self, address: str) -> list[str]:
        return [f"{self._prefix}:signin:failures:{address}", f"{self._prefix}:signin:failures"]

    async def attempt(self, address: str) -> int | None:
        """Count an attempt from `address`; None when it may go on, else the seconds to wait."""
        left_ms = int(await self._take(keys=self._keys(address), args=list(self._limits)))
        return None if left_ms == 0 else max(1, math.ceil(left_ms / 1000))

    async def succeeded(self, address: str) -> None:
        """The attempt was good: it does not count as a failure."""
        await self._give_back(keys=self._keys(address), args=[])
