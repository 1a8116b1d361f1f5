"""Tingle's own processes (`tingle worker`, `tingle serve`) started the way an operator would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tingle.settings import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """The TINGLE_* variables that make a process see `settings`."""
    rewrites = ",".join(f"{source}={target}" for source, target in settings.clone_url_rewrites)
    return {
        **os.environ,
        "TINGLE_REDIS_URL": settings.redis_url,
        "TINGLE_WEBHOOK_SECRET": settings.webhook_secret,
        "TINGLE_PUBLIC_URL": settings.public_url,
        "TINGLE_GITHUB_API_URL": settings.github_api_url,
        "TINGLE_GITHUB_TOKEN": settings.github_token,
        "TINGLE_GITHUB_WRITES_PER_SECOND": str(settings.github_writes_per_second),
        "TINGLE_GITHUB_WRITE_BURST": str(settings.github_write_burst),
        "TINGLE_CLONE_URL_REWRITE": rewrites,
        "TINGLE_WORKSPACE_ROOT": str(settings.workspace_root),
        "TINGLE_DOCKER_NETWORK": settings.docker_network,
        "TINGLE_WORKER_CONCURRENCY": str(settings.worker_concurrency),
        "TINGLE_SHUTDOWN_GRACE": str(settings.shutdown_grace_seconds),
        "TINGLE_HEARTBEAT": str(settings.heartbeat_seconds),
        "TINGLE_HEARTBEAT_TTL": str(settings.heartbeat_ttl_seconds),
        "TINGLE_JANITOR_INTERVAL": str(settings.janitor_seconds),
        "TINGLE_SECRETS_URL": settings.secrets_url,
        "TINGLE_SECRETS_WORK_DIR": str(settings.secrets_work_dir),
        "TINGLE_STYX_API_URL": settings.styx_api_url,
        "TINGLE_STYX_TOKEN": settings.styx_token,
        "TINGLE_ARCHIVE_URL": settings.archive_url,
        "TINGLE_ARCHIVE_DELAY": str(settings.archive_delay_seconds),
        "TINGLE_RETENTION": str(settings.retention_seconds),
        "TINGLE_KEEP_BUILDS_PER_BRANCH": str(settings.keep_builds_per_lane),
        "TINGLE_RETENTION_BATCH": str(settings.retention_batch),
        "TINGLE_ARCHIVE_BATCH": str(settings.archive_batch),
        "TINGLE_LOG_FORMAT": "json",
    }


def start_worker(settings: Settings, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "tingle.cli", "worker"],
            env=settings_env(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[Any], timeout: float = 30) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
