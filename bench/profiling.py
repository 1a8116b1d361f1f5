"""Sampling profiles of Tingle's processes with py-spy, summarised as the functions where samples
fell (self) and the functions on the stack (inclusive), each as a share of all samples."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


def py_spy() -> str | None:
    """The py-spy binary (the venv's first), or None when it is not installed."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


@dataclass
class Recording:
    popen: subprocess.Popen[bytes]
    output: Path

    def finish(self, timeout: float = 60) -> Path | None:
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        return self.output if self.output.exists() else None


def record(pid: int, seconds: float, output: Path, *, idle: bool = False) -> Recording | None:
    """Start sampling `pid` for `seconds` (100 Hz, without pausing it); None without py-spy."""
    binary = py_spy()
    if binary is None:
        return None
    command = [
        binary, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "100",
        "--nonblocking", "--format", "raw", "--output", str(output),
    ]  # fmt: skip
    if idle:
        command.append("--idle")
    popen = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return Recording(popen, output)


def _short(frame: str) -> str:
    """`func (path/to/module.py:12)` → `func (module.py)`, with the package kept for Tingle."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    path = match.group("file")
    if path.startswith("tingle/"):
        where = path
    elif "/tingle/" in path:
        where = "tingle/" + path.split("/tingle/", 1)[1]
    elif "site-packages/" in path:
        where = path.split("site-packages/", 1)[1]
    else:
        where = path.rsplit("/", 1)[-1]
    return f"{match.group('func')} ({where})"


# Frames on nearly every stack (interpreter start, thread and event-loop plumbing, the CLI): left
# out of the inclusive ranking, which would otherwise list only them.
_PLUMBING = (
    "(<frozen", "(threading.py)", "(runners.py)", "(base_events.py)", "(events.py)",
    "(thread.py)", "(__main__.py)", "(__init__.py)", "(main.py)", "(server.py)", "(_compat.py)",
    "(tingle/cli/",
)  # fmt: skip


def _samples(raw: Path) -> Iterator[tuple[str, int]]:
    """(stack, sample count) for each line of py-spy's raw (collapsed) output."""
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if stack and count_text.isdigit():
            yield stack, int(count_text)


def summarise(raw: Path, top: int = 15) -> dict[str, Any]:
    """Top functions by self and by inclusive samples, from py-spy's raw (collapsed) output."""
    self_counts: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for stack, count in _samples(raw):
        frames = [_short(frame) for frame in stack.split(";") if frame]
        if not frames:
            continue
        total += count
        self_counts[frames[-1]] += count
        for frame in set(frames):
            if not any(marker in frame for marker in _PLUMBING):
                inclusive[frame] += count

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"function": name, "share": round(count / total, 3)}
            for name, count in counter.most_common(top)
        ]

    return {"samples": total, "self": share(self_counts), "inclusive": share(inclusive)}


# Where the web process's samples go, first match wins (a stack is read from the outside in).
WEB_PATHS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("logging (structlog, uvicorn's access log)", ("logging/__init__", "structlog/", "_output.py")),
    ("supersede: cancelling the branch's older builds", ("supersede (",)),
    ("webhook: the admission script (one Redis round trip)", ("_accept (",)),
    ("webhook: read body, verify, parse", ("github_webhook (",)),
    ("HTTP: uvicorn, starlette, responses", ("httptools_impl", "starlette/")),
    # redis-py runs a command under a timeout in a task of its own: py-spy sees that task's
    # stack without the Tingle code awaiting it.
    ("Redis client internals (redis-py, hiredis)", ("redis/",)),
    ("event loop itself (uvloop: socket I/O, epoll)", ("leaf:Runner.run (",)),
    ("thread pool, between tasks", ("leaf:_worker (",)),
)


def attribute(raw: Path, paths: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, float]:
    """Share of all samples by path: a sample counts for the first path with a marker in its
    stack (a substring of py-spy's frames; `leaf:` matches the innermost frame only)."""
    counts: Counter[str] = Counter()
    total = 0
    for stack, count in _samples(raw):
        total += count
        leaf = stack.rsplit(";", 1)[-1]
        for name, markers in paths:
            if any(
                marker.removeprefix("leaf:") in leaf
                if marker.startswith("leaf:")
                else marker in stack
                for marker in markers
            ):
                counts[name] += count
                break
        else:
            counts["other"] += count
    return {name: round(n / total, 3) for name, n in counts.most_common()} if total else {}
