"""Reading a file of a checkout (build-info.yaml, data-info.yaml) without following it anywhere.

A checkout is input: its `build-info.yaml` may be a symbolic link to a host file (whose lines would
come back as lint problems on a public page), a FIFO that blocks the worker, or gigabytes. So a
file is read only if it and every directory on its way are what they say: each component opened
relative to the one before with `O_NOFOLLOW` (no symbolic link, however placed, and no race
between a check and the open), the file a regular one by `fstat`, and at most `max_bytes` long.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from tingle.errors import PathError

MAX_BYTES = 1024 * 1024
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class UnsafeFile(ValueError):
    """A file of the checkout that is not read; the message names it and says why."""


def read_workspace_file(
    workspace: Path, relative: str, *, max_bytes: int = MAX_BYTES
) -> bytes | None:
    """The bytes of `relative` (a path inside `workspace`), None when there is no such file.

    UnsafeFile when it is outside the workspace, a symbolic link (or under one), not a regular
    file, or larger than `max_bytes`; PathError, naming it, when the system will not read it."""
    parts = [part for part in relative.split("/") if part not in ("", ".")]
    if relative.startswith("/") or not parts or ".." in parts:
        raise UnsafeFile(f"{relative}: outside the repository")
    try:
        handle = _descend(workspace, parts, relative)
    except OSError as exc:  # not the file's doing: the checkout is Tingle's (a permission, EIO)
        raise PathError("read the checkout's file", workspace / relative, exc) from exc
    if handle is None:
        return None
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile(f"{relative}: not a regular file; refused")
        data = b"" if info.st_size > max_bytes else _read(handle, max_bytes + 1)
    except OSError as exc:
        raise PathError("read the checkout's file", workspace / relative, exc) from exc
    finally:
        os.close(handle)
    if info.st_size > max_bytes or len(data) > max_bytes:  # or it grew while being read
        raise UnsafeFile(f"{relative}: larger than {max_bytes} bytes; refused")
    return data


def _read(handle: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(handle, min(limit - size, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _descend(workspace: Path, parts: list[str], relative: str) -> int | None:
    """An open descriptor of the file `parts` names, each directory on the way opened in the one
    before without following a link; None when one of them does not exist."""
    folder = os.open(workspace, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for depth, part in enumerate(parts[:-1], start=1):
            inner = _open(folder, part, _DIRECTORY, relative, "/".join(parts[:depth]))
            if inner is None:
                return None
            os.close(folder)
            folder = inner
        return _open(folder, parts[-1], _FILE, relative, relative)
    finally:
        os.close(folder)


def _open(folder: int, name: str, flags: int, relative: str, shown: str) -> int | None:
    try:
        return os.open(name, flags, dir_fd=folder)
    except FileNotFoundError:
        return None
    except OSError as exc:
        try:
            mode = os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode
        except OSError:
            mode = 0
        if stat.S_ISLNK(mode) or exc.errno == errno.ELOOP:
            what = "is a symbolic link" if shown == relative else f"{shown} is a symbolic link"
            raise UnsafeFile(f"{relative}: {what}; refused") from None
        if exc.errno == errno.ENOTDIR:
            return None  # a file where a directory would be: there is no such file
        raise
