"""A server `tingle up` runs as its child (its Redis, its registry): started in a session of its
own (a Ctrl-C reaches `tingle up`, which stops it after the worker), its pid kept in the state
directory (so that a later `tingle up` knows it for its own, and anything else on its port for
someone else's), stopped on the way out."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

START_SECONDS = 10.0
STOP_SECONDS = 10.0


@dataclass(frozen=True)
class InUse:
    """The server `tingle up` uses, and how it came by it (for the line it prints)."""

    address: str
    origin: str  # "started here", "reused: started by an earlier tingle up", "given"


def recorded_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def command_line(pid: int) -> list[str]:
    """The arguments process `pid` runs with ([] when it is gone or unreadable)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


@contextlib.contextmanager
def child_server(
    argv: Sequence[str], *, name: str, pid_file: Path, log_file: Path, answers: Callable[[], bool]
) -> Iterator[int]:
    """Runs `argv` until the block ends; yields its pid once `answers()` is true."""
    with log_file.open("ab") as log:
        child = subprocess.Popen(
            list(argv), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    pid_file.write_text(f"{child.pid}\n")
    try:
        _wait_until_it_answers(child, name, log_file, answers)
        yield child.pid
    finally:
        child.terminate()  # redis-server writes its append-only file and exits on SIGTERM
        try:
            child.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if recorded_pid(pid_file) == child.pid:
            with contextlib.suppress(OSError):
                os.unlink(pid_file)


def _wait_until_it_answers(
    child: subprocess.Popen[bytes], name: str, log_file: Path, answers: Callable[[], bool]
) -> None:
    deadline = time.monotonic() + START_SECONDS
    while not answers():
        if child.poll() is not None:
            raise SystemExit(f"{name} exited with {child.returncode}: see {log_file}")
        if time.monotonic() > deadline:
            raise SystemExit(f"{name} did not answer in {START_SECONDS:.0f}s: see {log_file}")
        time.sleep(0.05)
