"""What a failed git command says, in one line a person can act on, with no credential in it.

Git explains a failure over several lines, cause first and advice last: a missing repository
ends with "Please make sure you have the correct access rights / and the repository exists.",
a refused object with a second "fatal: remote error: ..." after the first. The cause is the
first `fatal:` line (git dies there), else the first `error:` line, else the first line that is
neither a `hint:` nor a `warning:`.

The line becomes a build's reason and a commit status on GitHub, which people without access to
the repository's secrets read: a URL's user and password (`https://x-access-token:TOKEN@host/`,
from a mirror rewrite) are cut out, and so is every secret the caller names (the token and the
Basic header value made from it), wherever they appear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_CHARS = 300  # a status description holds 140; the build page shows the rest
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@'\"]*@")
_NOISE = ("hint:", "warning:")
HIDDEN = "***"


def cause_line(stderr: str, secrets: Iterable[str] = ()) -> str:
    """The line of git's `stderr` that says why it failed (see above); "" when it said nothing."""
    lines = [line.strip() for line in stderr.splitlines()]
    lines = [line for line in lines if line]
    chosen = next(
        (
            line
            for prefix in ("fatal:", "error:")
            for line in lines
            if line.lower().startswith(prefix)
        ),
        next((line for line in lines if not line.lower().startswith(_NOISE)), ""),
    )
    text = without_credentials(chosen, secrets)
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def without_credentials(text: str, secrets: Iterable[str]) -> str:
    """`text` with every URL's user and password removed and each of `secrets` hidden."""
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return _USERINFO.sub(r"\1", text)
