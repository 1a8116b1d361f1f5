"""What a worker checks before it connects to Redis, so that a misconfigured one stops at once
with one line (tingle.cli) instead of failing every build it takes, or retrying forever: inside
arq's start-up a `PermissionError` was taken for a lost Redis, and nothing was checked at all
until Redis answered.

- The settings only a worker uses: the agent images outside the builds' registry, the GitHub
  App's key (SettingError, naming the variable).
- The folders it writes on its machine, made and tried: the workspaces' root, the secrets work
  dir and (for a folder) the log archive (PathError, naming the path and what it tried)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tingle.archive.blobs import BlobStore
from tingle.engine.image_tags import check_namespaces
from tingle.errors import PathError, SettingError
from tingle.forge.factory import github_clients
from tingle.secrets.mounts import private_folder
from tingle.secrets.store import SecretError
from tingle.settings import Settings


def preflight(settings: Settings) -> None:
    """SettingError or PathError when this worker could not run a build; nothing else."""
    check_namespaces(settings.registry, settings.agent_image_prefix)
    github_clients(settings)  # parses the App's key; asks GitHub nothing
    prepare_local_paths(settings)


def prepare_local_paths(settings: Settings) -> None:
    """PathError unless each folder exists, or can be made, and takes a new entry; SettingError
    for a secrets work dir that is not this user's own folder."""
    _writable_folder(settings.workspace_root, "the workspace root (TINGLE_WORKSPACE_ROOT)", 0o700)
    what = "the secrets work dir (TINGLE_SECRETS_WORK_DIR)"
    try:
        private_folder(settings.secrets_work_dir)
    except OSError as exc:
        raise PathError(f"make {what}", settings.secrets_work_dir, exc) from exc
    except SecretError as exc:
        raise SettingError("TINGLE_SECRETS_WORK_DIR", str(exc)) from None
    _try_writing(settings.secrets_work_dir, what)
    BlobStore.open(settings.archive_url)  # a folder is made here; an object store is not asked


def _writable_folder(path: Path, what: str, mode: int) -> None:
    try:
        path.mkdir(mode=mode, parents=True, exist_ok=True)
    except OSError as exc:
        raise PathError(f"make {what}", path, exc) from exc
    _try_writing(path, what)


def _try_writing(path: Path, what: str) -> None:
    """Make and remove an entry in `path`: the one test that holds for root, ACLs, read-only
    mounts and full disks alike (`os.access` answers for the real uid, not for the attempt)."""
    try:
        probe = tempfile.mkdtemp(prefix=".tingle-probe-", dir=path)
        os.rmdir(probe)
    except OSError as exc:  # the probe's own name says nothing: the folder is the path
        raise PathError(f"write in {what}", path, OSError(exc.errno, exc.strerror)) from exc
