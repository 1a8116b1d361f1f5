"""What `tingle up` keeps in its state directory for itself and for `tingle trigger`: the
webhook secret and the admin token (made once, mode 0600, then reused), and the address the web
app listens on."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

WEBHOOK_SECRET = "webhook-secret"
ADMIN_TOKEN = "admin-token"
WEB_URL = "web-url"


def stored_token(path: Path) -> str:
    """The token in `path`, made there first when there is none (readable by its owner only)."""
    with contextlib.suppress(FileNotFoundError):
        token = path.read_text().strip()
        if token:
            return token
        path.unlink()  # an empty file (a crash between create and write) holds no token
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another `tingle up` made it just now
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(20))
    return path.read_text().strip()


def write_web_url(state_dir: Path, url: str) -> None:
    (state_dir / WEB_URL).write_text(url + "\n")


def read_web_url(state_dir: Path) -> str | None:
    try:
        return (state_dir / WEB_URL).read_text().strip() or None
    except OSError:
        return None
