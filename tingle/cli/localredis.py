"""The Redis `tingle up` runs when none answers: a child process with append-only files in the
state directory, stopped (and its data flushed) when `tingle up` stops."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis
import structlog

log = structlog.get_logger(__name__)

START_SECONDS = 10.0
STOP_SECONDS = 10.0


def answers(url: str) -> bool:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return True
    except redis.RedisError:
        return False


@contextlib.contextmanager
def local_redis(url: str, state_dir: Path, port: int) -> Iterator[str]:
    """The Redis URL to use: `url` when it answers, else one on `port` (reused when something
    answers there, else started here and stopped on the way out)."""
    if answers(url):
        yield url
        return
    local = f"redis://127.0.0.1:{port}/0"
    if answers(local):
        yield local
        return
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit(f"no Redis at {url} and no redis-server to start (apt-get install redis)")
    child = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--appendonly", "yes",
         "--dir", str(state_dir), "--logfile", str(state_dir / "redis.log")],
        start_new_session=True,  # a Ctrl-C reaches `tingle up`, which stops it after the worker
    )  # fmt: skip
    try:
        _wait_until_it_answers(local, child)
        log.info("started a local redis", port=port, dir=str(state_dir), pid=child.pid)
        yield local
    finally:
        child.terminate()  # redis-server writes its append-only file and exits on SIGTERM
        try:
            child.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _wait_until_it_answers(url: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while not answers(url):
        if child.poll() is not None:
            raise SystemExit(f"redis-server exited with {child.returncode}: see its redis.log")
        if time.monotonic() > deadline:
            raise SystemExit(f"redis-server did not answer on {url} in {START_SECONDS:.0f}s")
        time.sleep(0.05)
