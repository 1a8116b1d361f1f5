"""The blob store that finished logs are archived to: a local folder by default, or S3, GCS or
Azure by URL (`s3://bucket/prefix`, `gs://...`), all through obstore (object_store's Rust client),
never hand-written HTTP. Credentials come from the environment as obstore reads them
(AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, GOOGLE_APPLICATION_CREDENTIALS, ...).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import obstore
from obstore.store import LocalStore, from_url

from tingle.errors import PathError


class BlobStore:
    def __init__(self, store: Any, where: str, folder: Path | None = None) -> None:
        self._store = store
        self.where = where  # for logs and errors: never holds a credential
        self._folder = folder  # a local store's root: its emptied folders are removed too

    @classmethod
    def open(cls, url: str) -> BlobStore:
        """A folder path or `file://` URL (made if missing: PathError when it cannot be), else
        an object store URL."""
        if "://" not in url or url.startswith("file://"):
            folder = Path(url.removeprefix("file://"))
            try:
                folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:
                raise PathError("make the log archive (TINGLE_ARCHIVE_URL)", folder, exc) from exc
            return cls(LocalStore(str(folder)), str(folder), folder)
        return cls(from_url(url), url.split("?", 1)[0])

    async def put(self, path: str, data: bytes) -> None:
        await obstore.put_async(self._store, path, data)

    async def get(self, path: str) -> bytes | None:
        try:
            found = await obstore.get_async(self._store, path)
        except FileNotFoundError:
            return None
        return bytes(await found.bytes_async())

    async def get_range(self, path: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        return bytes(await obstore.get_range_async(self._store, path, start=start, length=length))

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every blob under `prefix` (a folder-like `a/b/`); how many there were."""
        paths = [
            meta["path"] async for batch in obstore.list(self._store, prefix) for meta in batch
        ]
        if paths:
            await obstore.delete_async(self._store, paths)
        if self._folder is not None:  # object stores have no folders; a disk has inodes
            with contextlib.suppress(OSError):
                (self._folder / prefix).rmdir()
        return len(paths)
