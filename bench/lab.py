"""The bench's world: a private Redis, the GitHub fake, git repositories, and Tingle's own processes
(`tingle serve`, `tingle worker`) started as an operator would, with the tests' helpers (testing/).

Everything listens on 127.0.0.1. `Lab` is a context manager: whatever it started stops on exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import httpx
from redis import Redis
from starlette.requests import Request
from starlette.responses import Response

from testing.fakes.github import FakeGitHub
from testing.gitrepo import GitRepo
from testing.payloads import push_payload
from testing.processes import settings_env
from testing.processes import stop as stop_process
from testing.servers import RedisServer, free_port
from tingle.forge.signature import sign
from tingle.settings import Settings

WEBHOOK_SECRET = "bench-webhook-secret"
IMAGE = "tingle/busybox:latest"  # the tests' image: 2 MB, so container start is Tingle's cost
REPO_ROOT = Path(__file__).resolve().parent.parent
# A shell snippet printing the wall clock with microseconds: busybox `date` has no %N, but its
# `adjtimex` reads the kernel clock that the host shares with every container.
NOW = "adjtimex | awk '/tv_sec/{s=$2} /tv_usec/{u=$2} END{printf \"%d.%06d\\n\", s, u}'"


@dataclass(frozen=True)
class StatusArrival:
    at: float  # time.time() when the fake received it
    repo: str
    sha: str
    state: str
    description: str


class TimedFakeGitHub(FakeGitHub):
    """The tests' GitHub fake, also noting when each accepted commit status arrived."""

    def __init__(self) -> None:
        self.arrivals: list[StatusArrival] = []
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self.arrivals = []
        self.rate_limit_remaining = 10**9  # a bench sends more than an hour's worth

    async def _create_status(self, request: Request, payload: Any) -> Response:
        response = await super()._create_status(request, payload)
        if response.status_code == 201 and isinstance(payload, dict):
            params = request.path_params
            self.arrivals.append(
                StatusArrival(
                    at=time.time(),
                    repo=f"{params['owner']}/{params['repo']}",
                    sha=params["sha"],
                    state=str(payload.get("state")),
                    description=str(payload.get("description") or ""),
                )
            )
        return response

    def arrived(self, sha: str, description_prefix: str) -> float | None:
        """When the first status on `sha` whose description starts so arrived; None: not yet."""
        for arrival in list(self.arrivals):
            if arrival.sha == sha and arrival.description.startswith(description_prefix):
                return arrival.at
        return None


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    url: str = ""

    @property
    def pid(self) -> int:
        return self.popen.pid


@dataclass
class Lab:
    """`with Lab() as lab:` a Redis, the GitHub fake and settings pointing Tingle at them."""

    # The shared GitHub write budget: Tingle's burst (8), so a build's statuses go out at once
    # as after a quiet spell, but refilled faster than its 1 a second, since the benches push
    # builds far faster than one installation would and measure Tingle, not the budget.
    writes_per_second: float = 10.0
    write_burst: int = 8
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tingle-bench-")))
    redis_server: RedisServer | None = None
    github: TimedFakeGitHub | None = None
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def __enter__(self) -> Lab:
        self.redis_server = RedisServer(self.root / "redis")
        self.redis_server.start()
        self._stack.callback(self.redis_server.stop)
        self.github = TimedFakeGitHub()
        self.github.start()
        self._stack.callback(self.github.stop)
        self._stack.callback(self._http.close)
        (self.root / "logs").mkdir()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- the world ---------------------------------------------------------------------------

    @property
    def fake(self) -> TimedFakeGitHub:
        assert self.github is not None, "use Lab as a context manager"
        return self.github

    @property
    def redis_url(self) -> str:
        assert self.redis_server is not None, "use Lab as a context manager"
        return self.redis_server.url

    def redis(self) -> Redis:
        return Redis.from_url(self.redis_url)

    def log_entries(
        self, build_id: str, step: int, client: Redis | None = None
    ) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """The entries of a step's log stream (each holds consecutive lines under `t`)."""
        found = (client or self.redis()).xrange(f"tingle:log:{build_id}:{step}")
        return cast(list[tuple[bytes, dict[bytes, bytes]]], found)

    def used_memory(self) -> int:
        return int(cast(dict[str, Any], self.redis().info("memory"))["used_memory"])

    def commands_processed(self) -> int:
        """Commands Redis has run since it started (INFO stats)."""
        return int(cast(dict[str, Any], self.redis().info("stats"))["total_commands_processed"])

    def count(self, key: str) -> int:
        """Members of a sorted set."""
        return int(cast(int, self.redis().zcard(key)))

    def settings(self, **overrides: Any) -> Settings:
        base = Settings(
            redis_url=self.redis_url,
            webhook_secret=WEBHOOK_SECRET,
            public_url="http://127.0.0.1:8080",
            github_api_url=self.fake.base_url,
            github_token="bench-token",
            github_writes_per_second=self.writes_per_second,
            github_write_burst=self.write_burst,
            clone_url_rewrites=(("https://github.com/", f"{(self.root / 'repos').as_uri()}/"),),
            workspace_root=self.root / "workspaces",
            archive_url=str(self.root / "archive"),
            worker_concurrency=1,
        )
        return replace(base, **overrides)

    @staticmethod
    def budget_refill_seconds(settings: Settings) -> float:
        """How long an empty GitHub write budget takes to be full again: the pause between
        builds that makes each start like a separate push."""
        if settings.github_writes_per_second <= 0:
            return 0.0
        return settings.github_write_burst / settings.github_writes_per_second

    def reset(self) -> None:
        """Empty Redis and the fake between benchmarks."""
        self.redis().flushall()
        self.fake.reset()

    def repo(self, full_name: str) -> GitRepo:
        return GitRepo(self.root / "repos" / f"{full_name}.git")

    # --- Tingle's processes -------------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str], env: Mapping[str, str]) -> Process:
        log_path = self.root / "logs" / f"{name}-{time.monotonic_ns()}.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                argv, env=dict(env), stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT
            )
        return Process(name, popen, log_path)

    @contextlib.contextmanager
    def web(
        self, settings: Settings, extra_env: Mapping[str, str] | None = None
    ) -> Iterator[Process]:
        """`tingle serve` (one uvicorn process) on a free port; yields it once /healthz answers."""
        env = {**settings_env(settings), **(extra_env or {})}
        argv = [sys.executable, "-m", "tingle.cli", "serve", "--host", "127.0.0.1"]
        with self._served("web", argv, env) as process:
            yield process

    @contextlib.contextmanager
    def app(self, module: str, extra_env: Mapping[str, str] | None = None) -> Iterator[Process]:
        """`python -m <module> --port P`, an ASGI app of the bench's own (e.g. the bare ceiling)."""
        env = {**os.environ, **(extra_env or {})}
        with self._served(module, [sys.executable, "-m", module], env) as process:
            yield process

    @contextlib.contextmanager
    def _served(self, name: str, argv: list[str], env: Mapping[str, str]) -> Iterator[Process]:
        """`argv --port P` on a free port P; yields it once /healthz answers, stops it after."""
        port = free_port()
        process = self._spawn(name, [*argv, "--port", str(port)], env)
        process.url = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{process.url}/healthz", process)
            yield process
        finally:
            stop(process)

    @contextlib.contextmanager
    def workers(
        self,
        settings: Settings,
        count: int,
        extra_env: Mapping[str, str] | None = None,
        *,
        module: str | None = None,
    ) -> Iterator[list[Process]]:
        """`count` x `tingle worker` (or `python -m <module>`, a worker of the bench's own, such
        as bench.fake_worker), each started and past its start-up when yielded."""
        env = {**settings_env(settings), **(extra_env or {})}
        argv = [sys.executable, "-m", *((module,) if module else ("tingle.cli", "worker"))]
        started = [self._spawn(f"worker{i}", argv, env) for i in range(count)]
        try:
            for process in started:
                wait_log(process, "Starting worker")
            time.sleep(1.5)  # on_startup (docker client, templates) runs after that line
            yield started
        finally:
            for process in started:
                process.popen.send_signal(signal.SIGTERM)
            for process in started:
                stop(process)

    # --- webhooks and records -----------------------------------------------------------------

    def push(self, web_url: str, repo: str, sha: str, branch: str = "main") -> tuple[str, float]:
        """Send a signed push webhook as GitHub does; the build id and when it was sent.

        The body is made and signed before the clock starts, and the HTTP client is kept (making
        one per request costs tens of milliseconds here, which are not Tingle's)."""
        body = json.dumps(push_payload(repo, sha, branch)).encode()
        headers = {
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(WEBHOOK_SECRET.encode(), body),
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/bench",
        }
        sent = time.time()
        answer = self._http.post(f"{web_url}/webhooks/github", content=body, headers=headers)
        if answer.status_code != 202:
            raise RuntimeError(f"webhook answered {answer.status_code}: {answer.text}")
        return str(answer.json()["build_id"]), sent

    def record(self, build_id: str, client: Redis | None = None) -> dict[str, Any] | None:
        raw = cast(bytes | None, (client or self.redis()).get(f"tingle:build:{build_id}"))
        return None if raw is None else dict(json.loads(raw))

    def wait_finished(self, build_id: str, timeout: float = 120) -> dict[str, Any]:
        client = self.redis()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.record(build_id, client)
            if found and found["state"] not in ("queued", "running"):
                return found
            time.sleep(0.01)
        raise TimeoutError(f"build {build_id} not finished within {timeout}s")


def build_info(*steps: tuple[str, list[str]], image: str = IMAGE) -> str:
    """A build-info.yaml with these (name, commands) steps in `image`."""
    lines = ["version: 2", "steps:"]
    for name, commands in steps:
        lines += [f"  - name: {name}", f"    image: {image}", "    commands:"]
        lines += [f"      - {json.dumps(command)}" for command in commands]
    return "\n".join(lines) + "\n"


def wait_http(url: str, process: Process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited: see {tail(process.log_path)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{process.name} did not answer {url} within {timeout}s")


def wait_log(process: Process, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited: {tail(process.log_path)}")
        if text in process.log_path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{process.name} did not log {text!r} within {timeout}s")


def tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop(process: Process, timeout: float = 30) -> None:
    stop_process(process.popen, timeout)


def rss_mib(pid: int) -> dict[str, float]:
    """Resident memory now and at its peak (VmHWM) of a process, MiB."""
    found: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found["rss_mib" if key == "VmRSS" else "peak_rss_mib"] = round(
                    int(value.split()[0]) / 1024, 1
                )
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int, timeout: float = 60, busy: float = 0.03) -> float:
    """Seconds until `pid` uses under `busy` of a core for two 0.25 s windows in a row."""
    start = time.monotonic()
    quiet = 0
    last = cpu_seconds(pid)
    while time.monotonic() - start < timeout:
        time.sleep(0.25)
        now = cpu_seconds(pid)
        quiet = quiet + 1 if now - last < busy * 0.25 else 0
        last = now
        if quiet >= 2:
            return max(0.0, time.monotonic() - start - 0.5)
    return timeout
