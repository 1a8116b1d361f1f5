"""Settings, read once from the environment (`TINGLE_*`): one frozen value, passed to whoever
needs it."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


def _parse_rewrites(raw: str) -> tuple[tuple[str, str], ...]:
    """`from=to` pairs separated by commas, e.g. `https://github.com/=file:///srv/mirror/`."""
    pairs = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        source, sep, target = item.partition("=")
        if not sep or not source:
            raise ValueError(f"TINGLE_CLONE_URL_REWRITE: expected 'from=to', got {item!r}")
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
            raise ValueError(f"TINGLE_DEPLOY_BRANCHES: expected 'owner/repo:globs', got {entry!r}")
        key = repo.strip().lower() if sep else ""
        if key in rules:
            raise ValueError(f"TINGLE_DEPLOY_BRANCHES: {key or 'the global list'} given twice")
        rules[key] = tuple(filter(None, (p.strip() for p in patterns.split(","))))
    return tuple(rules.items())


def _byte_limit(raw: str) -> int | None:
    """A cap in bytes (TINGLE_STEP_LOG_LIMIT, TINGLE_BUILD_LOG_LIMIT); `0` or empty: none."""
    value = int(raw) if raw.strip() else 0
    if value < 0:
        raise ValueError(f"a byte limit cannot be negative, got {raw!r}")
    return value or None


def _secret_value(env: Mapping[str, str], name: str) -> str:
    """TINGLE_NAME, or the contents of the file TINGLE_NAME_FILE (for mounted secrets)."""
    path = env.get(f"TINGLE_{name}_FILE", "")
    return Path(path).read_text().strip() if path else env.get(f"TINGLE_{name}", "")


def _webhook_secrets(path: str) -> tuple[tuple[str, str], ...]:
    """TINGLE_WEBHOOK_SECRETS_FILE: a JSON object mapping "owner/name" or "owner" to the secret of
    that repository's (or owner's, or GitHub App's) webhook. Keys are kept lower-case: GitHub's
    names are case-insensitive. Errors name the file and the key, never a secret."""
    if not path:
        return ()
    what = f"TINGLE_WEBHOOK_SECRETS_FILE ({path})"
    try:
        table = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{what}: not readable JSON: {type(exc).__name__}") from None
    if not isinstance(table, dict):
        raise ValueError(f"{what}: expected an object mapping 'owner/name' or 'owner' to a secret")
    pairs = []
    for key, secret in table.items():
        if not _SECRET_KEY.fullmatch(key):
            raise ValueError(f"{what}: {key[:100]!r} is not 'owner/name' or 'owner'")
        if not isinstance(secret, str) or not secret:
            raise ValueError(f"{what}: the secret of {key!r} must be a non-empty string")
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
        env = os.environ if env is None else env
        defaults = cls()

        def get(name: str, default: str) -> str:
            return env.get(f"TINGLE_{name}", default)

        return cls(
            redis_url=get("REDIS_URL", defaults.redis_url),
            webhook_secret=get("WEBHOOK_SECRET", ""),
            public_url=get("PUBLIC_URL", defaults.public_url).rstrip("/"),
            github_api_url=get("GITHUB_API_URL", defaults.github_api_url).rstrip("/"),
            github_token=get("GITHUB_TOKEN", ""),
            github_writes_per_second=float(
                get("GITHUB_WRITES_PER_SECOND", str(defaults.github_writes_per_second))
            ),
            github_write_burst=int(get("GITHUB_WRITE_BURST", str(defaults.github_write_burst))),
            status_context=get("STATUS_CONTEXT", defaults.status_context),
            github_app_id=get("GITHUB_APP_ID", ""),
            github_app_private_key=_secret_value(env, "GITHUB_APP_PRIVATE_KEY"),
            admin_token=_secret_value(env, "ADMIN_TOKEN"),
            public_read=get("PUBLIC_READ", "true").lower() in ("1", "true", "yes"),
            clone_url_rewrites=_parse_rewrites(get("CLONE_URL_REWRITE", "")),
            workspace_root=Path(get("WORKSPACE_ROOT", str(defaults.workspace_root))),
            docker_network=get("DOCKER_NETWORK", defaults.docker_network),
            templates_dir=Path(get("TEMPLATES_DIR", str(defaults.templates_dir))),
            agent_image_prefix=get("AGENT_IMAGE_PREFIX", defaults.agent_image_prefix),
            queue_name=get("QUEUE_NAME", defaults.queue_name),
            worker_concurrency=int(get("WORKER_CONCURRENCY", str(defaults.worker_concurrency))),
            build_timeout_seconds=int(get("BUILD_TIMEOUT", str(defaults.build_timeout_seconds))),
            registry_username=get("REGISTRY_USERNAME", ""),
            registry_password=get("REGISTRY_PASSWORD", ""),
            styx_api_url=get("STYX_API_URL", "").rstrip("/"),
            styx_token=get("STYX_TOKEN", ""),
            styx_timeout=float(get("STYX_TIMEOUT", str(defaults.styx_timeout))),
            secrets_url=get("SECRETS_URL", defaults.secrets_url),
            secrets_work_dir=Path(
                get("SECRETS_WORK_DIR", "") or _secrets_work_dir(env, defaults.secrets_work_dir)
            ),
            hold_forks=get("HOLD_FORKS", "false").lower() in ("1", "true", "yes"),
            supersede=get("SUPERSEDE", "true").lower() in ("1", "true", "yes"),
            supersede_except=frozenset(
                filter(None, (r.strip() for r in get("SUPERSEDE_EXCEPT", "").split(",")))
            ),
            deploy_branches=_parse_deploy_branches(get("DEPLOY_BRANCHES", "")),
            shutdown_grace_seconds=int(get("SHUTDOWN_GRACE", str(defaults.shutdown_grace_seconds))),
            registry=get("REGISTRY", defaults.registry),
            step_memory=get("STEP_MEMORY", defaults.step_memory),
            step_pids=int(get("STEP_PIDS", str(defaults.step_pids))),
            step_cpus=float(get("STEP_CPUS", "0")),
            step_log_limit=_byte_limit(get("STEP_LOG_LIMIT", str(defaults.step_log_limit))),
            build_log_limit=_byte_limit(get("BUILD_LOG_LIMIT", str(defaults.build_log_limit))),
            heartbeat_seconds=float(get("HEARTBEAT", str(defaults.heartbeat_seconds))),
            heartbeat_ttl_seconds=int(get("HEARTBEAT_TTL", str(defaults.heartbeat_ttl_seconds))),
            janitor_seconds=float(get("JANITOR_INTERVAL", str(defaults.janitor_seconds))),
            metrics_port=int(get("METRICS_PORT", "0")),
            signin_failures_per_address=int(
                get("SIGNIN_FAILURES_PER_ADDRESS", str(defaults.signin_failures_per_address))
            ),
            signin_failures_total=int(
                get("SIGNIN_FAILURES_TOTAL", str(defaults.signin_failures_total))
            ),
            signin_window_seconds=int(get("SIGNIN_WINDOW", str(defaults.signin_window_seconds))),
            session_seconds=int(get("SESSION_SECONDS", str(defaults.session_seconds))),
            log_format=get("LOG_FORMAT", defaults.log_format),
            key_prefix=get("KEY_PREFIX", defaults.key_prefix),
            github_url=get("GITHUB_URL", defaults.github_url).rstrip("/"),
            webhook_secrets=_webhook_secrets(get("WEBHOOK_SECRETS_FILE", "")),
            archive_url=get("ARCHIVE_URL", defaults.archive_url),
            archive_delay_seconds=duration(get("ARCHIVE_DELAY", "10s")),
            retention_seconds=duration(get("RETENTION", "90d")),
            keep_builds_per_lane=int(
                get("KEEP_BUILDS_PER_BRANCH", str(defaults.keep_builds_per_lane))
            ),
            retention_batch=int(get("RETENTION_BATCH", str(defaults.retention_batch))),
            archive_batch=int(get("ARCHIVE_BATCH", str(defaults.archive_batch))),
            webhook_read_seconds=float(
                get("WEBHOOK_READ_SECONDS", str(defaults.webhook_read_seconds))
            ),
            webhook_bytes_in_flight=int(
                get("WEBHOOK_BYTES_IN_FLIGHT", str(defaults.webhook_bytes_in_flight))
            ),
            sse_per_address=int(get("SSE_PER_ADDRESS", str(defaults.sse_per_address))),
            sse_total=int(get("SSE_TOTAL", str(defaults.sse_total))),
            redis_max_connections=int(
                get("REDIS_MAX_CONNECTIONS", str(defaults.redis_max_connections))
            ),
            redis_live_log_connections=int(
                get("REDIS_LIVE_LOG_CONNECTIONS", str(defaults.redis_live_log_connections))
            ),
            redis_pool_timeout=int(get("REDIS_POOL_TIMEOUT", str(defaults.redis_pool_timeout))),
            http_header_seconds=float(
                get("HTTP_HEADER_SECONDS", str(defaults.http_header_seconds))
            ),
            http_max_connections=int(
                get("HTTP_MAX_CONNECTIONS", str(defaults.http_max_connections))
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
