"""GitHub webhook signatures: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.

The HMAC is computed over the raw bytes as received, never over re-serialised JSON: any change in
whitespace or key order would break it.
"""

from __future__ import annotations

import hashlib
import hmac

_PREFIX = "sha256="
_HEX_DIGITS = frozenset("0123456789abcdef")
_DIGEST_HEX_LENGTH = hashlib.sha256().digest_size * 2


def sign(secret: bytes, body: bytes) -> str:
    """The `X-Hub-Signature-256` header value GitHub would send for `body`."""
    return _PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """True when `header` is the valid signature of `body` under `secret`.

    An empty secret never verifies: a misconfigured service must refuse every delivery rather than
    accept an HMAC anybody can compute.
    """
    if not secret:
        return False
    return digest_matches(hmac.new(secret, body, hashlib.sha256).hexdigest(), header)


def running_hmac(secret: bytes) -> hmac.HMAC:
    """An HMAC-SHA256 to feed a body chunk by chunk as it arrives (`update`), then compare with
    `digest_matches(mac.hexdigest(), header)`."""
    return hmac.new(secret, digestmod=hashlib.sha256)


def digest_matches(expected: str, header: str | None) -> bool:
    """True when `header` is `sha256=<expected>`, `expected` being the hex HMAC of the body under
    a non-empty secret (the caller's to ensure), compared in constant time."""
    if not header or not header.startswith(_PREFIX):
        return False
    # GitHub sends lower-case hex; accepting upper case costs nothing and is the same digest.
    given = header[len(_PREFIX) :].lower()
    if len(given) != _DIGEST_HEX_LENGTH or not _HEX_DIGITS.issuperset(given):
        return False
    # Bytes, not str: compare_digest raises TypeError on non-ASCII str, and the check above already
    # guarantees ASCII, so the encode cannot fail.
    return hmac.compare_digest(expected.encode("ascii"), given.encode("ascii"))
