"""A real Docker registry (Debian's docker-registry, via scripts/registry.sh) on a free port."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from testing.servers import free_port

ROOT = Path(__file__).resolve().parents[1]


class Registry:
    def __init__(self, directory: Path, htpasswd: Path | None = None) -> None:
        self.port = free_port()
        self.directory = directory
        env = {"TINGLE_REGISTRY_HTPASSWD": str(htpasswd)} if htpasswd else {}
        subprocess.run(
            ["bash", str(ROOT / "scripts/registry.sh"), str(self.port), str(directory)],
            check=True,
            env={**os.environ, **env},
        )
        self.host = f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        pid = int((self.directory / "registry.pid").read_text())
        subprocess.run(["kill", str(pid)], check=False)
