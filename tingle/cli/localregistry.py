"""The registry `tingle up` pushes images to: TINGLE_REGISTRY when set, else its own, on its own
port (5001), Debian's `docker-registry` storing images in the state directory, started here (and
stopped when `tingle up` stops) or reused when an earlier `tingle up` of this state directory left
it running. Anything else answering on that port is refused. Docker takes 127.0.0.0/8 for an
insecure registry by default: a push there needs no TLS."""

from __future__ import annotations

import contextlib
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tingle.cli.child_server import InUse, child_server, command_line, recorded_pid

BINARIES = ("docker-registry", "registry")  # Debian's name, and upstream's


def answers(host: str) -> bool:
    """Whether a registry answers `GET /v2/` at `host` (200, or 401 when it wants a login).
    urllib, not httpx: polled while the registry starts, and httpx logs every request."""
    try:
        with urllib.request.urlopen(f"http://{host}/v2/", timeout=2) as answer:
            return bool(answer.status == 200)
    except urllib.error.HTTPError as refused:
        return refused.code == 401
    except (OSError, ValueError):
        return False


def config_text(port: int, data: Path) -> str:
    return (
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {data}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )


@contextlib.contextmanager
def local_registry(state_dir: Path, port: int, given: str | None = None) -> Iterator[InUse]:
    """The registry to use: `given`, else `tingle up`'s own on 127.0.0.1:`port`."""
    if given:
        yield InUse(given, "given")
        return
    host = f"127.0.0.1:{port}"
    directory = state_dir / "registry"
    config, pid_file = directory / "config.yml", directory / "registry.pid"
    if answers(host):
        pid = recorded_pid(pid_file)
        if pid is None or str(config) not in command_line(pid):
            raise SystemExit(
                f"a registry tingle up did not start answers on {host}: pass --registry-port"
                " for a free port, or set TINGLE_REGISTRY to use that one"
            )
        yield InUse(host, "reused: started by an earlier tingle up")
        return
    binary = next(filter(None, map(shutil.which, BINARIES)), None)
    if binary is None:
        raise SystemExit(
            "no docker-registry to start (apt-get install docker-registry),"
            " or set TINGLE_REGISTRY to a registry of yours"
        )
    (directory / "data").mkdir(parents=True, exist_ok=True)
    config.write_text(config_text(port, directory / "data"))
    with child_server(
        [binary, "serve", str(config)],
        name=binary.rsplit("/", 1)[-1],
        pid_file=pid_file,
        log_file=directory / "registry.log",
        answers=lambda: answers(host),
    ):
        yield InUse(host, f"started here, images in {directory / 'data'}")
