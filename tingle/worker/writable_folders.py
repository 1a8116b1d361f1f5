"""The folders a worker writes, checked before it takes a build.

A worker in a container (compose.yaml) runs as an unprivileged uid, and the folders it writes are
often bind mounts of host paths: one the engine made for a missing path is root's, and the worker
would only find out at its first build, as a failed checkout in someone's pull request. Checked at
start-up instead, the error names the setting, the path, who owns it and which uid needs it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from tingle.errors import InfrastructureError
from tingle.settings import Settings


class FolderNotWritable(InfrastructureError):
    """A folder the worker writes is not writable by its uid; the message says how to fix it."""


@dataclass(frozen=True)
class Folder:
    setting: str  # the environment variable that names it
    path: Path


def worker_folders(settings: Settings) -> tuple[Folder, ...]:
    """The folders a worker writes: workspaces, per-build secret files, and the log archive when it
    is a local folder (an object store is checked by its first write)."""
    folders = [
        Folder("TINGLE_WORKSPACE_ROOT", settings.workspace_root),
        Folder("TINGLE_SECRETS_WORK_DIR", settings.secrets_work_dir),
    ]
    url = settings.archive_url
    if "://" not in url or url.startswith("file://"):
        folders.append(Folder("TINGLE_ARCHIVE_URL", Path(url.removeprefix("file://"))))
    return tuple(folders)


def check_writable(folder: Folder) -> None:
    """Make the folder if missing (mode 0700, as the worker would), then create and remove a file
    in it; FolderNotWritable names the path, its owner and mode, and this process's uid."""
    probe = folder.path / f".tingle-write-check-{os.getpid()}"
    try:
        folder.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600))
        os.unlink(probe)
    except OSError as exc:
        raise FolderNotWritable(_explain(folder, exc)) from exc


def check_worker_folders(settings: Settings) -> None:
    """Every folder of `worker_folders`; the first problem found raises."""
    for folder in worker_folders(settings):
        check_writable(folder)


def _explain(folder: Folder, exc: OSError) -> str:
    uid, gid = os.getuid(), os.getgid()
    existing = _nearest_existing(folder.path)
    if existing is None:
        owner = "no part of it exists"
    else:
        info = existing.stat()
        where = "it is" if existing == folder.path else f"{existing} is"
        owner = f"{where} owned by uid {info.st_uid} gid {info.st_gid}, mode {_mode(info)}"
    return (
        f"{folder.setting} {folder.path} is not writable by this worker (uid {uid}, gid {gid}): "
        f"{exc.strerror or exc}; {owner}. Make it the worker's, e.g. "
        f"`install -d -o {uid} -g {gid} -m 0700 {folder.path}` on the host that mounts it "
        f"(scripts/compose-env.sh does for compose.yaml)"
    )


def _nearest_existing(path: Path) -> Path | None:
    for candidate in (path, *path.parents):
        try:
            candidate.stat()
        except OSError:
            continue
        return candidate
    return None


def _mode(info: os.stat_result) -> str:
    return f"{stat.S_IMODE(info.st_mode):04o}"
