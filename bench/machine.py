"""What machine the figures were measured on: cores, memory, kernel, Python, Docker, Redis."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any


def _run(*command: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unavailable"
    return (done.stdout or done.stderr).strip() or "unavailable"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def git_state() -> str:
    """The commit measured, and how many files differed from it (others edit the tree too)."""
    dirty = len(_run("git", "status", "--porcelain", "--untracked-files=no").splitlines())
    return f"{_run('git', 'rev-parse', '--short', 'HEAD')} + {dirty} changed files"


def describe() -> dict[str, Any]:
    docker_server = _run("docker", "version", "--format", "{{.Server.Version}}")
    return {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gib": _memory_gib(),
        "kernel": platform.release(),
        "os": _run("sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"),
        "python": sys.version.split()[0],
        "docker_server": docker_server,
        "docker_client": _run("docker", "version", "--format", "{{.Client.Version}}"),
        "docker_storage_driver": _run("docker", "info", "--format", "{{.Driver}}"),
        "redis": _run("redis-server", "--version"),
        "wrk": _run("sh", "-c", "wrk -v 2>&1 | head -1"),
    }
