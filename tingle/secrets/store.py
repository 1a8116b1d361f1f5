"""Where a repository's secrets live: one contract, a directory tree as the first store.

The contract is async and tiny (`get`, `list`) so a GCS or S3 store (`gs://<bucket>/<org>/<repo>/
<name>`) can follow without changing a caller. Names are validated before they touch a path, so
neither a secret name nor a repository name can climb out of the store's root.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Protocol

# The same rule build-info.yaml's linter applies to `secrets.names` (tingle.pipeline.document).
SECRET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_REPO_PART = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class SecretError(Exception):
    """A secret could not be read; the message names the secret, never its value."""


class SecretNotFound(SecretError):
    pass


class SecretStore(Protocol):
    async def get(self, repo: str, name: str) -> bytes:
        """The value of secret `name` of `repo` ("owner/name"); SecretNotFound if none."""

    async def list(self, repo: str) -> list[str]:
        """The names of the repository's secrets, sorted."""


def check_name(name: str) -> str:
    if not SECRET_NAME.match(name):
        raise SecretError(f"invalid secret name {name!r}")
    return name


def split_repo(repo: str) -> tuple[str, str]:
    owner, sep, name = repo.partition("/")
    for part in (owner, name):
        if not sep or not _REPO_PART.match(part) or part in (".", ".."):
            raise SecretError(f"invalid repository name {repo!r}")
    return owner, name


class DirectorySecretStore:
    """Secrets as files: `<root>/<owner>/<repo>/<name>`, one file per secret, raw bytes."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _repo_dir(self, repo: str) -> Path:
        owner, name = split_repo(repo)
        return self.root / owner / name

    async def get(self, repo: str, name: str) -> bytes:
        path = self._repo_dir(repo) / check_name(name)
        return await asyncio.to_thread(_read, path, repo, name)

    async def list(self, repo: str) -> list[str]:
        return await asyncio.to_thread(_names_in, self._repo_dir(repo))


def _read(path: Path, repo: str, name: str) -> bytes:
    # Names are validated, so `path` is inside the root. Symlinks the operator placed (one
    # repository sharing another's secrets) are followed on purpose.
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise SecretNotFound(f"secret '{name}' not found for {repo}") from None
    except OSError as exc:
        raise SecretError(f"secret '{name}' of {repo} could not be read: {exc.strerror}") from exc


def _names_in(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and SECRET_NAME.match(p.name))


def open_secret_store(location: str) -> SecretStore:
    """The store at `location` (TINGLE_SECRETS_URL): a folder path or a `file://` URL for now."""
    if location.startswith("file://"):
        return DirectorySecretStore(Path(location.removeprefix("file://")))
    if "://" in location:
        scheme = location.split("://", 1)[0]
        raise SecretError(f"secret store '{scheme}://' is not supported yet (only file://)")
    return DirectorySecretStore(Path(location))
