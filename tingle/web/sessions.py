"""Signed-in sessions, kept in Redis: the cookie is a random key (`secrets.token_urlsafe`), the
record says who signed in and how, and it expires on its own.

Signing out deletes the record, so a cookie copied before is worth nothing after. Redis holds a
hash of each key, not the key: reading Redis (a backup, `MONITOR`) does not give a live cookie.
A session is general: `subject` is who (`admin` for the admin token, a GitHub login later) and
`method` how they proved it; `credential` ties an admin-token session to the token it was made
with, so rotating the token ends those sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

ADMIN = "admin"
ADMIN_TOKEN = "admin-token"  # the method: the admin token, through the sign-in form


@dataclass(frozen=True)
class Session:
    subject: str
    method: str
    credential: str = ""  # a fingerprint of what was proven (never the secret itself)
    created_at: float = 0.0


def token_fingerprint(token: str) -> str:
    """What an admin-token session remembers of the token: enough to notice it changed."""
    return hmac.new(token.encode(), b"tingle session credential v2", hashlib.sha256).hexdigest()


class SessionStore:
    def __init__(self, redis: Redis, prefix: str, ttl_seconds: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self.ttl_seconds = ttl_seconds

    def _key(self, cookie: str) -> str:
        return f"{self._prefix}:session:{hashlib.sha256(cookie.encode()).hexdigest()}"

    async def create(self, subject: str, method: str, credential: str = "") -> str:
        """A new session; returns the cookie value (shown once, never stored as is)."""
        cookie = secrets.token_urlsafe(32)
        record = Session(subject, method, credential, time.time())
        await self._redis.set(self._key(cookie), json.dumps(asdict(record)), ex=self.ttl_seconds)
        return cookie

    async def get(self, cookie: str) -> Session | None:
        if not cookie or len(cookie) > 256:
            return None
        raw = await self._redis.get(self._key(cookie))
        if raw is None:
            return None
        try:
            return Session(**json.loads(raw))
        except (ValueError, TypeError):
            return None

    async def revoke(self, cookie: str) -> None:
        if cookie:
            await self._redis.delete(self._key(cookie))
