"""The workspaces' root, confined on the host: mode 0700 (no other host user can reach a build's
files) and its own mount with `nosuid,nodev`, so that a setuid binary or a device node a step
leaves in its workspace means nothing on the host. Docker's bind mounts cannot take `nosuid`, but a
bind mount copies the flags of the mount it is taken from: every step's `/workspace` is then
`nosuid,nodev` too.

The mount (`mount --bind ROOT ROOT`, then `mount -o remount,bind,nosuid,nodev ROOT`) needs root,
as dockerd does; it is made once, by the first build a worker runs, and stays (a second worker on
the machine finds it made). dockerd must share the worker's mount namespace (it does when both run
on the host) for its bind mounts to see it. Without root, the root is only made 0700 and a warning
says so; see the README for user-namespace remapping, which makes a container's root no root of the
host at all."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import structlog

from tingle.errors import PathError

log = structlog.get_logger(__name__)

_CONFINED = os.ST_NOSUID | os.ST_NODEV
_lock = threading.Lock()


def confined(path: Path) -> bool:
    """Whether the mount holding `path` is `nosuid,nodev`."""
    return os.statvfs(path).f_flag & _CONFINED == _CONFINED


def confine_root(root: Path, *, mount: bool = True) -> bool:
    """Make `root` 0700 and (`mount`) mount it `nosuid,nodev` if it is not yet; True when it is.
    `tingle exec` does not mount: its root is a scratch folder removed when it ends."""
    with _lock:
        try:
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(root, 0o700)
        except OSError as exc:
            raise PathError("make the workspace root (mode 0700)", root, exc) from exc
        if confined(root) or not mount:
            return confined(root)
        if os.geteuid() != 0:
            log.warning("workspace root not mounted nosuid,nodev: not root", root=str(root))
            return False
        for args in (["--bind"], ["-o", "remount,bind,nosuid,nodev"]):
            done = subprocess.run(
                ["mount", *args, str(root), str(root)] if args == ["--bind"]
                else ["mount", *args, str(root)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                log.warning("workspace root not mounted nosuid,nodev", error=done.stderr.strip())
                return False
        return confined(root)
