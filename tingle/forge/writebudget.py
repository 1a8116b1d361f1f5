"""One budget of GitHub writes for every Tingle process: a token bucket held in Redis.

GitHub's secondary rate limits ask integrators to make at most 80 content-generating requests
(statuses, comments) a minute and 500 an hour, and to space writes rather than send them in
bursts. Spacing every write by a fixed gap in each process, as PyGithub's `seconds_between_writes`
does, gets both sides wrong: it delays the statuses of a short build (its `success` arrived
about 370 ms after the build ended), and with N workers GitHub sees N times the rate.

So the budget lives in Redis, one bucket per GitHub identity (an App installation, or the
personal token), shared by the web app and every worker on every machine. The defaults,
1 write a second and a burst of 8, let the handful of statuses of one build go out at once, and
hold any minute to at most 8 + 60 = 68 writes, under 80. The hourly 500 is not enforced: 60 a
minute kept up reaches it in under nine minutes. A Tingle that busy lowers
`TINGLE_GITHUB_WRITES_PER_SECOND` (0.13 keeps under 500 an hour) or uses a GitHub App, whose
installations each have a budget of their own.

One Lua script refills and takes atomically, on Redis's own clock (`TIME`), so the clocks of
different machines do not matter. It answers 0 when it took a token, or the milliseconds until
one is there; the caller sleeps that long and asks again. Waiters are not served in strict
order: whoever asks first after a refill wins, and the others are told the next wait. A waiter
may lose a round or two, but every try has the same chance, so none starves. A bucket idle long
enough to be full again is the same as no bucket, so its key expires then.
"""

from __future__ import annotations

import asyncio
from typing import Final

from redis.asyncio import Redis

from tingle.settings import Settings

TAKE: Final = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(state[1]), tonumber(state[2])
if tokens == nil or ts == nil then
  tokens, ts = burst, now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.max(1, math.ceil((1 - tokens) * 1000 / rate))
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate))
return wait
"""


def identity_for(installation_id: int | None) -> str:
    """Whose budget a write spends: the App installation's, or the personal token's."""
    return "token" if installation_id is None else f"installation-{installation_id}"


class WriteBudget:
    """A token bucket per identity, refilled at `per_second` up to `burst`; `per_second <= 0`
    means no limit (and no Redis call)."""

    def __init__(self, redis: Redis, *, prefix: str, per_second: float, burst: int) -> None:
        if per_second > 0 and burst < 1:
            raise ValueError(f"a write budget needs a burst of at least 1, got {burst}")
        self._prefix = prefix
        self._per_second = per_second
        self._burst = burst
        self._take = redis.register_script(TAKE)

    def key(self, identity: str) -> str:
        """The Redis hash that holds the bucket of `identity` (tokens, and when it was last
        refilled, in milliseconds of Redis's clock)."""
        return f"{self._prefix}:github-writes:{identity}"

    async def acquire(self, identity: str) -> float:
        """Wait until `identity` may write once; returns the seconds slept for it (0.0 when a
        token was there at once; Redis round trips are not counted)."""
        if self._per_second <= 0:
            return 0.0
        waited = 0.0
        args = [self._per_second, self._burst]
        while wait_ms := int(await self._take(keys=[self.key(identity)], args=args)):
            await asyncio.sleep(wait_ms / 1000)
            waited += wait_ms / 1000
        return waited


def write_budget(redis: Redis, settings: Settings) -> WriteBudget:
    """The budget the settings ask for (`TINGLE_GITHUB_WRITES_PER_SECOND`, `..._WRITE_BURST`)."""
    return WriteBudget(
        redis,
        prefix=settings.key_prefix,
        per_second=settings.github_writes_per_second,
        burst=settings.github_write_burst,
    )
