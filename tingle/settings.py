"""Settings, read once from the environment (`TINGLE_*`): one frozen value, passed to whoever
needs it."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from tingle.errors import SettingError

T = TypeVar("T")


def _parse_rewrites(raw: str) -> tuple[tuple[str, str], ...]:
    """`from=to` pairs separated by commas, e.g. `https://github.com/=file:///srv/mirror/`."""
    pairs = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        source, sep, target = item.partition("=")
        if not sep or not source:
            raise ValueError(f"expected 'from=to', got {item!r}")
        pairs.append((source, target))
    return tuple(pairs)


DeployBranchRules = tuple[tuple[str, tuple[str, ...]], ...]  # (repository or "", patterns)


def _parse_deploy_branches(raw: str) -> DeployBranchRules:
    """TINGLE_DEPLOY_BRANCHES: entries separated by `;`, each `owner/repo:pattern,pattern` (that
    repository's list) or `pattern,pattern` (every other repository's). A branch name cannot hold
    a `:` (git refuses it), so the repository is unambiguous. Repositories are matched without
    regard to case, as GitHub names them."""
    rules: dict[str, tuple[str, ...]] = {}
    for entry in filter(None, (part.strip() for part in raw.split(";"))):
        repo, sep, patterns = entry.rpartition(":")
        if sep and repo.count("/") != 1:
            raise ValueError(f"expected 'owner/repo:globs', got {entry!r}")
        key = repo.strip().lower() if sep else ""
        if key in rules:
            raise ValueError(f"{key or 'the global list'} given twice")
        rules[key] = tuple(filter(None, (p.strip() for p in patterns.split(","))))
    return tuple(rules.items())


def _byte_limit(raw: str) -> int | None:
    """A cap in bytes (TINGLE_STEP_LOG_LIMIT, TINGLE_BUILD_LOG_LIMIT); `0` or empty: none."""
    try:
        value = int(raw) if raw.strip() else 0
    except ValueError:
        raise ValueError(f"expected a number of bytes, got {raw[:40]!r}") from None
    if value < 0:
        raise ValueError(f"a byte limit cannot be negative, got {raw!r}")
    return value or None


def _secret_value(env: Mapping[str, str], name: str) -> str:
    """TINGLE_NAME, or the contents of the file TINGLE_NAME_FILE (for mounted secrets)."""
    path = env.get(f"TINGLE_{name}_FILE", "")
    if not path:
        return env.get(f"TINGLE_{name}", "")
    try:
        return Path(path).read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise SettingError(f"TINGLE_{name}_FILE", f"cannot read {path}: {reason}") from None


def _webhook_secrets(path: str) -> tuple[tuple[str, str], ...]:
    """TINGLE_WEBHOOK_SECRETS_FILE: a JSON object mapping "owner/name" or "owner" to the secret of
    that repository's (or owner's, or GitHub App's) webhook. Keys are kept lower-case: GitHub's
    names are case-insensitive. Errors name the file and the key, never a secret."""
    if not path:
        return ()
    name = "TINGLE_WEBHOOK_SECRETS_FILE"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingError(name, f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise SettingError(name, f"{path}: not UTF-8 text") from None
    try:
        table = json.loads(text)
    except json.JSONDecodeError as exc:  # where, not what: the text holds secrets
        raise SettingError(name, f"{path}: not JSON (line {exc.lineno})") from None
    if not isinstance(table, dict):
        raise SettingError(
            name, f"{path}: expected an object mapping 'owner/name' or 'owner' to a secret"
        )
    pairs = []
    for key, secret in table.items():
        if not _SECRET_KEY.fullmatch(key):
            raise SettingError(name, f"{path}: {key[:100]!r} is not 'owner/name' or 'owner'")
        if not isinstance(secret, str) or not secret:
            raise SettingError(name, f"{path}: the secret of {key!r} must be a non-empty string")
        pairs.append((key.lower(), secret))
    return tuple(pairs)


_SECRET_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}(/[A-Za-z0-9._-]{1,100})?")


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    webhook_secret: str = ""
    public_url: str = "http://127.0.0.1:8080"
    github_api_url: str = "https://api.github.com"
    github_token: str = ""
    github_writes_per_second: float = 1.0  # shared by all processes, per identity; 0 = no limit
    github_write_burst: int = 8  # writes that may go at once after a quiet spell
    github_app_id: str = ""  # authenticate as a GitHub App (with the key below) instead of a token
    github_app_private_key: str = ""  # PEM text (TINGLE_GITHUB_APP_PRIVATE_KEY or ..._FILE)
    admin_token: str = ""  # who may cancel and restart builds in the web view
    public_read: bool = True  # whether pages, logs and the API need signing in
    status_context: str = "tingle"
    clone_url_rewrites: tuple[tuple[str, str], ...] = ()
    workspace_root: Path = Path("/var/lib/tingle/workspaces")
    docker_network: str = "bridge"
    templates_dir: Path = Path(__file__).resolve().parent.parent / "templates"
    agent_image_prefix: str = "tingle/agent-"
    queue_name: str = "tingle:queue"
    worker_concurrency: int = 2
    build_timeout_seconds: int = 3600
    # Confinement (issue 13, items 1 and 6): builds tag and push only <registry>/<owner>/<repo>
    # (the operator's registry, never the repository's); step containers have a memory and a
    # process limit by default ("" / 0: none).
    registry: str = "localhost:5000"
    step_memory: str = "4g"  # docker's memory limit per step container, e.g. "2g"
    step_pids: int = 4096  # processes per step container
    step_cpus: float = 0.0  # CPUs per step container; 0 = no limit
    step_log_limit: int | None = 64 * 1024 * 1024  # bytes of log kept per step; None: no cap
    # ... and by all steps of a build together (issue 14): a build of many steps is bounded too.
    build_log_limit: int | None = 256 * 1024 * 1024
    registry_username: str = ""  # credentials for pushing images; none when empty
    registry_password: str = ""
    styx_api_url: str = ""  # the scheduler deploy steps register workflows with
    styx_token: str = ""  # a static bearer token; without one, a Google ID token is used
    styx_timeout: float = 30.0
    secrets_url: str = "/var/lib/tingle/secrets"  # <root>/<org>/<repo>/<name>
    secrets_work_dir: Path = Path("/var/lib/tingle/build-secrets")  # seen by dockerd at this path
    hold_forks: bool = False  # a fork's pull request builds only once a maintainer approves
    supersede: bool = True  # a newer push to a branch or pull request cancels older builds
    supersede_except: frozenset[str] = frozenset()  # repositories that keep every build
    # Branches besides the default branch whose pushes may deploy, by repository (operator only:
    # never read from the commit being built); see deploy_branches_for.
    deploy_branches: DeployBranchRules = ()
    shutdown_grace_seconds: int = 60
    heartbeat_seconds: float = 5.0  # how often a running build says it is alive
    heartbeat_ttl_seconds: int = 20  # silence after which its worker is taken for dead
    janitor_seconds: float = 10.0  # how often each worker looks for builds of dead workers
    metrics_port: int = 0  # a worker's own /metrics, /healthz, /readyz; 0 = none
    # Sign-in (issue 13): failed attempts allowed per client address and in all, per window (then
    # 429 until the window passes, even for the right token); how long a session lasts.
    signin_failures_per_address: int = 5
    signin_failures_total: int = 100
    signin_window_seconds: int = 60
    session_seconds: int = 12 * 3600
    log_format: str = "auto"  # auto | json | console
    key_prefix: str = "tingle"
    # Who may send webhooks and where code comes from (issue 13). Clone URLs are derived from
    # github_url and a repository's full name (then `clone_url_rewrites`), never read from a
    # payload. A repository or owner in the webhook secrets file must sign with its own secret.
    github_url: str = "https://github.com"  # GitHub Enterprise: https://HOST
    webhook_secrets: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    # Bounds on what Tingle stores (issue 14): ended builds' logs move to a blob store (a folder,
    # or s3:// gs:// az:// URLs); builds expire after `retention_seconds`, and a branch or pull
    # request keeps only its newest `keep_builds_per_lane` (0: no count limit).
    archive_url: str = "/var/lib/tingle/archive"
    archive_delay_seconds: float = 10.0  # after a build ends, before its logs move
    retention_seconds: float = 90 * 24 * 3600.0
    keep_builds_per_lane: int = 500
    retention_batch: int = 500  # builds a janitor pass expires at most
    archive_batch: int = 50  # builds a janitor pass archives at most
    # Hostile clients (issue 14, item 4): what one web process gives unauthenticated senders and
    # readers. A webhook body must arrive within the read deadline (GitHub itself waits 10 s),
    # and the bodies being read hold at most the in-flight bytes together; live-log streams are
    # limited per client address and in all; the Redis pools are bounded, the blocking reads of
    # live logs in a pool of their own so that they never starve webhooks.
    webhook_read_seconds: float = 10.0
    webhook_bytes_in_flight: int = 100 * 1024 * 1024
    sse_per_address: int = 20
    sse_total: int = 1000
    redis_max_connections: int = 64
    redis_live_log_connections: int = 16
    redis_pool_timeout: int = 2  # seconds a request waits for a free Redis connection
    http_header_seconds: float = 10.0  # a request's headers must arrive within this
    http_max_connections: int = 2000  # open connections, then uvicorn answers 503

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Every setting from `env` (the process's environment); a SettingError naming the
        variable when one is malformed."""
        env = os.environ if env is None else env
        defaults = cls()
        read = _Env(env)
        return cls(
            redis_url=read.text("REDIS_URL", defaults.redis_url),
            webhook_secret=read.text("WEBHOOK_SECRET", ""),
            public_url=read.text("PUBLIC_URL", defaults.public_url).rstrip("/"),
            github_api_url=read.text("GITHUB_API_URL", defaults.github_api_url).rstrip("/"),
            github_token=read.text("GITHUB_TOKEN", ""),
            github_writes_per_second=read.number(
                "GITHUB_WRITES_PER_SECOND", defaults.github_writes_per_second
            ),
            github_write_burst=read.integer(
                "GITHUB_WRITE_BURST", defaults.github_write_burst, low=1
            ),
            status_context=read.text("STATUS_CONTEXT", defaults.status_context),
            github_app_id=read.text("GITHUB_APP_ID", ""),
            github_app_private_key=_secret_value(env, "GITHUB_APP_PRIVATE_KEY"),
            admin_token=_secret_value(env, "ADMIN_TOKEN"),
            public_read=read.flag("PUBLIC_READ", True),
            clone_url_rewrites=read.parsed("CLONE_URL_REWRITE", "", _parse_rewrites),
            workspace_root=Path(read.text("WORKSPACE_ROOT", str(defaults.workspace_root))),
            docker_network=read.text("DOCKER_NETWORK", defaults.docker_network),
            templates_dir=Path(read.text("TEMPLATES_DIR", str(defaults.templates_dir))),
            agent_image_prefix=read.text("AGENT_IMAGE_PREFIX", defaults.agent_image_prefix),
            queue_name=read.text("QUEUE_NAME", defaults.queue_name),
            worker_concurrency=read.integer(
                "WORKER_CONCURRENCY", defaults.worker_concurrency, low=1
            ),
            build_timeout_seconds=read.integer(
                "BUILD_TIMEOUT", defaults.build_timeout_seconds, low=1
            ),
            registry_username=read.text("REGISTRY_USERNAME", ""),
            registry_password=read.text("REGISTRY_PASSWORD", ""),
            styx_api_url=read.text("STYX_API_URL", "").rstrip("/"),
            styx_token=read.text("STYX_TOKEN", ""),
            styx_timeout=read.number("STYX_TIMEOUT", defaults.styx_timeout),
            secrets_url=read.text("SECRETS_URL", defaults.secrets_url),
            secrets_work_dir=Path(
                read.text("SECRETS_WORK_DIR", "")
                or _secrets_work_dir(env, defaults.secrets_work_dir)
            ),
            hold_forks=read.flag("HOLD_FORKS", False),
            supersede=read.flag("SUPERSEDE", True),
            supersede_except=frozenset(
                filter(None, (r.strip() for r in read.text("SUPERSEDE_EXCEPT", "").split(",")))
            ),
            deploy_branches=read.parsed("DEPLOY_BRANCHES", "", _parse_deploy_branches),
            shutdown_grace_seconds=read.integer("SHUTDOWN_GRACE", defaults.shutdown_grace_seconds),
            registry=read.text("REGISTRY", defaults.registry),
            step_memory=read.text("STEP_MEMORY", defaults.step_memory),
            step_pids=read.integer("STEP_PIDS", defaults.step_pids),
            step_cpus=read.number("STEP_CPUS", 0.0),
            step_log_limit=read.parsed("STEP_LOG_LIMIT", str(defaults.step_log_limit), _byte_limit),
            build_log_limit=read.parsed(
                "BUILD_LOG_LIMIT", str(defaults.build_log_limit), _byte_limit
            ),
            heartbeat_seconds=read.number("HEARTBEAT", defaults.heartbeat_seconds),
            heartbeat_ttl_seconds=read.integer(
                "HEARTBEAT_TTL", defaults.heartbeat_ttl_seconds, low=1
            ),
            janitor_seconds=read.number("JANITOR_INTERVAL", defaults.janitor_seconds),
            metrics_port=read.port("METRICS_PORT", 0),
            signin_failures_per_address=read.integer(
                "SIGNIN_FAILURES_PER_ADDRESS", defaults.signin_failures_per_address
            ),
            signin_failures_total=read.integer(
                "SIGNIN_FAILURES_TOTAL", defaults.signin_failures_total
            ),
            signin_window_seconds=read.integer("SIGNIN_WINDOW", defaults.signin_window_seconds),
            session_seconds=read.integer("SESSION_SECONDS", defaults.session_seconds),
            log_format=read.choice("LOG_FORMAT", defaults.log_format, ("auto", "json", "console")),
            key_prefix=read.text("KEY_PREFIX", defaults.key_prefix),
            github_url=read.text("GITHUB_URL", defaults.github_url).rstrip("/"),
            webhook_secrets=read.parsed("WEBHOOK_SECRETS_FILE", "", _webhook_secrets),
            archive_url=read.text("ARCHIVE_URL", defaults.archive_url),
            archive_delay_seconds=read.parsed("ARCHIVE_DELAY", "10s", duration),
            retention_seconds=read.parsed("RETENTION", "90d", duration),
            keep_builds_per_lane=read.integer(
                "KEEP_BUILDS_PER_BRANCH", defaults.keep_builds_per_lane
            ),
            retention_batch=read.integer("RETENTION_BATCH", defaults.retention_batch),
            archive_batch=read.integer("ARCHIVE_BATCH", defaults.archive_batch),
            webhook_read_seconds=read.number("WEBHOOK_READ_SECONDS", defaults.webhook_read_seconds),
            webhook_bytes_in_flight=read.integer(
                "WEBHOOK_BYTES_IN_FLIGHT", defaults.webhook_bytes_in_flight
            ),
            sse_per_address=read.integer("SSE_PER_ADDRESS", defaults.sse_per_address),
            sse_total=read.integer("SSE_TOTAL", defaults.sse_total),
            redis_max_connections=read.integer(
                "REDIS_MAX_CONNECTIONS", defaults.redis_max_connections, low=1
            ),
            redis_live_log_connections=read.integer(
                "REDIS_LIVE_LOG_CONNECTIONS", defaults.redis_live_log_connections, low=1
            ),
            redis_pool_timeout=read.integer("REDIS_POOL_TIMEOUT", defaults.redis_pool_timeout),
            http_header_seconds=read.number("HTTP_HEADER_SECONDS", defaults.http_header_seconds),
            http_max_connections=read.integer(
                "HTTP_MAX_CONNECTIONS", defaults.http_max_connections, low=1
            ),
        )

    @property
    def instance(self) -> str:
        """Names this Tingle (its Redis and key prefix) on resources shared with others, such
        as a Docker engine two installations use."""
        return hashlib.sha256(f"{self.redis_url}|{self.key_prefix}".encode()).hexdigest()[:12]

    def build_url(self, build_id: str) -> str:
        return f"{self.public_url}/builds/{build_id}"

    def supersedes(self, repo: str) -> bool:
        return self.supersede and repo not in self.supersede_except

    def deploy_branches_for(self, repo: str) -> tuple[str, ...]:
        """Branch patterns (globs: `*`, `**`) besides the default branch that `repo` deploys
        from: its own entry in TINGLE_DEPLOY_BRANCHES, else the global one, else none."""
        rules = dict(self.deploy_branches)
        return rules.get(repo.lower(), rules.get("", ()))

    def rewrite_clone_url(self, url: str) -> str:
        for source, target in self.clone_url_rewrites:
            if url.startswith(source):
                return target + url[len(source) :]
        return url


class _Env:
    """`TINGLE_<name>` values, each parsed or refused with a SettingError naming its variable."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str, default: str) -> str:
        return self._env.get(f"TINGLE_{name}", default)

    def parsed(self, name: str, default: str, parse: Callable[[str], T]) -> T:
        try:
            return parse(self.text(name, default))
        except SettingError:
            raise
        except ValueError as exc:
            raise SettingError(f"TINGLE_{name}", str(exc)) from None

    def integer(self, name: str, default: int, *, low: int = 0, high: int | None = None) -> int:
        raw = self.text(name, str(default)).strip()
        try:
            value = int(raw)
        except ValueError:
            value = low - 1  # refused below, with what was given
        if value < low or (high is not None and value > high):
            upto = f" to {high}" if high is not None else " or more"
            given = self.text(name, str(default))[:40]
            raise SettingError(
                f"TINGLE_{name}", f"expected a whole number {low}{upto}, got {given!r}"
            )
        return value

    def port(self, name: str, default: int) -> int:
        return self.integer(name, default, high=65535)

    def number(self, name: str, default: float) -> float:
        raw = self.text(name, str(default))
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not value >= 0 or value == float("inf"):  # NaN too
            raise SettingError(f"TINGLE_{name}", f"expected a number 0 or more, got {raw[:40]!r}")
        return value

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        raw = self.text(name, default).strip().lower()
        if raw not in allowed:
            expected = ", ".join(allowed)
            raise SettingError(f"TINGLE_{name}", f"expected one of {expected}, got {raw[:40]!r}")
        return raw

    def flag(self, name: str, default: bool) -> bool:
        raw = self.text(name, "").strip().lower()
        if raw in ("1", "true", "yes", "on"):
            return True
        if raw in ("0", "false", "no", "off"):
            return False
        if raw == "":
            return default
        raise SettingError(f"TINGLE_{name}", f"expected true or false, got {raw[:40]!r}")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> float:
    """Seconds in `text`: `90d`, `12h`, `30m`, `45s`, or a plain number of seconds."""
    text = text.strip().lower()
    unit = _UNITS.get(text[-1:], 0)
    number = text[:-1] if unit else text
    try:
        value = float(number) * (unit or 1)
    except ValueError:
        raise ValueError(f"not a duration: {text!r} (e.g. 90d, 12h, 30m, 45s)") from None
    if value < 0:
        raise ValueError(f"a duration cannot be negative: {text!r}")
    return value


def _secrets_work_dir(env: Mapping[str, str], fallback: Path) -> Path:
    """Where build secret files go when TINGLE_SECRETS_WORK_DIR is not set: on a tmpfs when there
    is one (memory, so a worker killed mid-build leaves nothing on disk and a reboot clears it),
    $XDG_RUNTIME_DIR (the user's own) before /dev/shm (shared: the folder's name has our uid, and
    tingle.secrets refuses it unless it is ours, 0700), else `fallback` on disk."""
    runtime = env.get("XDG_RUNTIME_DIR", "")
    if runtime and Path(runtime).is_absolute() and _on_tmpfs(Path(runtime)):
        return Path(runtime) / "tingle-build-secrets"
    if _on_tmpfs(Path("/dev/shm")):
        return Path(f"/dev/shm/tingle-{os.getuid()}-build-secrets")
    return fallback


def _on_tmpfs(path: Path) -> bool:
    """Whether `path` is an existing folder on a tmpfs (the mount with the longest matching
    prefix in /proc/self/mounts)."""
    try:
        if not path.is_dir():
            return False
        target = str(path.resolve())
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return False
    best, fstype = "", ""
    for line in mounts:
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, fstype = point, parts[2]
    return fstype == "tmpfs"
