"""Running `tingle` as an operator does, in a subprocess with only the environment given."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from testing.unprivileged import held_to_file_modes


@dataclass(frozen=True)
class Exit:
    code: int
    stdout: str
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()


def run_tingle(
    args: list[str], env: Mapping[str, str], tmp_path: Path, *, file_modes_bind: bool = False
) -> Exit:
    """`tingle ARGS` with `env` as its only TINGLE_* settings (and its folders under `tmp_path`
    unless `env` names others, so that nothing lands in /var/lib/tingle)."""
    base = {name: value for name, value in os.environ.items() if not name.startswith("TINGLE_")}
    given = {
        "TINGLE_WORKSPACE_ROOT": str(tmp_path / "workspaces"),
        "TINGLE_SECRETS_WORK_DIR": str(tmp_path / "build-secrets"),
        "TINGLE_ARCHIVE_URL": str(tmp_path / "archive"),
        "TINGLE_REDIS_URL": "redis://127.0.0.1:1/0",  # nothing answers: no test reaches Redis
        "TINGLE_LOG_FORMAT": "json",
        **env,
    }
    argv = [sys.executable, "-m", "tingle.cli", *args]
    done = subprocess.run(
        held_to_file_modes(argv) if file_modes_bind else argv,
        env={**base, **given},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Exit(done.returncode, done.stdout, done.stderr)
