"""The Redis `tingle up` uses: the one named by `--redis-url` or TINGLE_REDIS_URL, else its own,
on its own port (6389) with append-only files in the state directory, started here (and stopped
when `tingle up` stops) or reused when an earlier `tingle up` of this state directory left it
running. A Redis on that port that `tingle up` did not start is refused, never written into: the
one on 127.0.0.1:6379 db 0 is usually another program's."""

from __future__ import annotations

import contextlib
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import redis

from tingle.cli.child_server import InUse, child_server, recorded_pid

PID_FILE = "redis.pid"


def answers(url: str) -> bool:
    return server_pid(url) is not None


def server_pid(url: str) -> int | None:
    """The process id of the Redis answering at `url`, None when none answers."""
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        info: dict[str, object] = client.info("server")  # type: ignore[assignment]
    except redis.RedisError:
        return None
    finally:
        client.close()
    pid = info.get("process_id")
    return pid if isinstance(pid, int) else -1


def shown(url: str) -> str:
    """`url` without its password, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (
        f":{parts.port}" if parts.port else ""
    )
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


@contextlib.contextmanager
def local_redis(state_dir: Path, port: int, given: str | None = None) -> Iterator[InUse]:
    """The Redis to use: `given` (which must answer), else `tingle up`'s own on `port`."""
    if given:
        if not answers(given):
            raise SystemExit(f"no Redis answers at {shown(given)} (--redis-url, TINGLE_REDIS_URL)")
        yield InUse(given, "given")
        return
    local = f"redis://127.0.0.1:{port}/0"
    pid_file = state_dir / PID_FILE
    running = server_pid(local)
    if running is not None:
        if running != recorded_pid(pid_file):
            raise SystemExit(
                f"a Redis tingle up did not start answers on 127.0.0.1:{port}"
                f"{f' (pid {running})' if running > 0 else ''}: tingle up keeps its own; pass"
                f" --redis-port for a free port, or --redis-url {local} to use that one"
            )
        yield InUse(local, "reused: started by an earlier tingle up")
        return
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("no redis-server to start (apt-get install redis-server)")
    argv = [server, "--port", str(port), "--bind", "127.0.0.1", "--appendonly", "yes",
            "--dir", str(state_dir)]  # fmt: skip
    with child_server(
        argv,
        name="redis-server",
        pid_file=pid_file,
        log_file=state_dir / "redis.log",
        answers=lambda: answers(local),
    ):
        yield InUse(local, f"started here, data in {state_dir}")
