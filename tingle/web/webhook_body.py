"""Reading a webhook's body: bounded in size, in time, and in the bytes all requests hold at once.

- Size: at most GitHub's 25 MB (`BodyTooLarge`, 413), refused on the declared length before a
  byte is read, else as the bytes pass it.
- Time: the whole body within the read deadline (`BodyTimedOut`, 408; GitHub itself waits 10 s
  for an answer, so a body slower than that is no GitHub delivery). Its bytes are given back then.
- Bytes in flight: every chunk is counted in the process's `BodyBudget` as it arrives; a
  declared length that does not fit in the room left, or a chunk that does not, fails the
  request at once (`NoRoom`, 503), never waiting for room.

Why the body is kept whole, and only one HMAC runs while it arrives:
the payload is parsed after the signature matches, so the bytes must be kept anyway (an HMAC
computed incrementally saves CPU spikes, not memory); that is why the budget, not the HMAC, is
what bounds memory. Which secret signs a body depends on the repository it names (its own, its
owner's, else the global one: `tingle.forge.webhook_secrets`), known only once it is parsed.
Keeping one running HMAC per candidate secret would cost one SHA-256 pass over every byte per
entry of the secrets file, for anyone who can send bytes: hundreds of entries make a 25 MB body
seconds of CPU. So one running HMAC, under the global secret, is fed chunk by chunk. Without a
secrets file that is the only secret, and a body it does not verify is refused without ever being
parsed (parsing an unauthenticated 24 MB body costs far more memory than its bytes). With one,
the body is parsed to learn its repository; if that repository's secret is the global one the
running digest decides, else one more HMAC runs over the kept body with its own secret: at most
two passes per body, whatever the size of the file.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.requests import Request

from tingle.forge.signature import running_hmac
from tingle.web.body_budget import BodyHold, NoRoom

__all__ = ["BodyTimedOut", "BodyTooLarge", "NoRoom", "ReceivedBody", "read_body"]


class BodyTooLarge(Exception):
    pass


class BodyTimedOut(Exception):
    pass


@dataclass(frozen=True)
class ReceivedBody:
    raw: bytes
    global_digest: str  # hex HMAC-SHA256 of `raw` under the global secret; "" without one


async def read_body(
    request: Request, hold: BodyHold, *, limit: int, seconds: float, global_secret: bytes
) -> ReceivedBody:
    """The whole body of `request`, its bytes counted in `hold` (the caller gives them back)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        if int(declared) > limit:
            raise BodyTooLarge
        if int(declared) > hold.budget.free():
            raise NoRoom
    try:
        async with asyncio.timeout(seconds):
            return await _receive(request, hold, limit, global_secret)
    except TimeoutError:
        raise BodyTimedOut from None


async def _receive(
    request: Request, hold: BodyHold, limit: int, global_secret: bytes
) -> ReceivedBody:
    mac = running_hmac(global_secret) if global_secret else None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        hold.take(len(chunk))
        if mac is not None:
            mac.update(chunk)
        chunks.append(chunk)
    raw = b"".join(chunks)
    chunks.clear()  # the joined copy is what stays; the pieces go at once
    return ReceivedBody(raw, mac.hexdigest() if mac is not None else "")
