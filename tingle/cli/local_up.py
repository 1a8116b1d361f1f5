"""`tingle up`: the web app and a worker in one process, for trying Tingle on one machine, with
everything of its own: its Redis, its registry, its state directory (webhook secret, admin token,
workspaces, archive, the copies `tingle trigger` pushes). Each of them can be replaced by a
setting (`--redis-url` or TINGLE_REDIS_URL, TINGLE_REGISTRY, TINGLE_WORKSPACE_ROOT...)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from tingle.cli import state_files
from tingle.cli.child_server import InUse
from tingle.cli.local_repos import clone_url_rewrite
from tingle.cli.localredis import local_redis, shown
from tingle.cli.localregistry import local_registry
from tingle.errors import InfrastructureError, PathError
from tingle.logging_setup import configure_logging
from tingle.settings import Settings

DEFAULT_STATE_DIR = Path.home() / ".local/share/tingle"


def add_arguments(up: argparse.ArgumentParser) -> None:
    up.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    up.add_argument(
        "--port", type=int, default=8080, help="port to listen on (default: %(default)s)"
    )
    up.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where secrets, the admin token, workspaces, logs, Redis and registry data are kept "
        "(default: %(default)s)",
    )
    up.add_argument(
        "--redis-url", help="use this Redis (default: TINGLE_REDIS_URL, else tingle up's own)"
    )
    up.add_argument("--redis-port", type=int, default=6389, help="of tingle up's own Redis")
    up.add_argument("--registry-port", type=int, default=5001, help="of tingle up's own registry")


def local_settings(
    settings: Settings,
    env: Mapping[str, str],
    *,
    state_dir: Path,
    listen_url: str,
    redis_url: str,
    registry: str,
) -> Settings:
    """`settings` completed for one machine: what the environment does not say comes from the
    state directory (secrets made once there) and the servers `tingle up` chose."""
    return dataclasses.replace(
        settings,
        webhook_secret=settings.webhook_secret
        or state_files.stored_token(state_dir / state_files.WEBHOOK_SECRET),
        admin_token=settings.admin_token
        or state_files.stored_token(state_dir / state_files.ADMIN_TOKEN),
        public_url=env.get("TINGLE_PUBLIC_URL", listen_url).rstrip("/"),
        workspace_root=Path(env.get("TINGLE_WORKSPACE_ROOT", state_dir / "workspaces")),
        archive_url=env.get("TINGLE_ARCHIVE_URL", str(state_dir / "archive")),
        redis_url=redis_url,
        registry=registry,
        clone_url_rewrites=(
            clone_url_rewrite(settings.github_url, state_dir),
            *settings.clone_url_rewrites,
        ),
    )


def run(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir.resolve()
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        state_dir.chmod(0o700)  # secrets, tokens and build logs live here
    except OSError as exc:
        raise PathError("make the state folder (--state-dir)", state_dir, exc) from exc
    settings = Settings.from_env()
    configure_logging(settings.log_format)
    engine = _docker_engine()
    given_redis = args.redis_url or os.environ.get("TINGLE_REDIS_URL")
    given_registry = os.environ.get("TINGLE_REGISTRY")
    with (
        local_redis(state_dir, args.redis_port, given_redis) as redis,
        local_registry(state_dir, args.registry_port, given_registry) as registry,
    ):
        listen_url = f"http://{_reachable(args.host)}:{args.port}"
        settings = local_settings(
            settings,
            os.environ,
            state_dir=state_dir,
            listen_url=listen_url,
            redis_url=redis.address,
            registry=registry.address,
        )
        state_files.write_web_url(state_dir, listen_url)
        print(banner(settings, state_dir, redis=redis, registry=registry, engine=engine))
        if not (settings.github_token or settings.github_app_id):
            print(
                "warning: no GitHub credentials (TINGLE_GITHUB_TOKEN, or a GitHub App): builds"
                " run, but their commit statuses and comments wait in Redis until there are some",
                file=sys.stderr,
            )
        sys.stdout.flush()
        asyncio.run(_web_and_worker(settings, args.host, args.port))
    return 0


def banner(
    settings: Settings, state_dir: Path, *, redis: InUse, registry: InUse, engine: str
) -> str:
    """What `tingle up` says it uses, one line each."""
    admin = (
        "from TINGLE_ADMIN_TOKEN"
        if os.environ.get("TINGLE_ADMIN_TOKEN") or os.environ.get("TINGLE_ADMIN_TOKEN_FILE")
        else f"in {state_dir / state_files.ADMIN_TOKEN} (sign in with it to cancel or restart)"
    )
    return "\n".join(
        [
            "Tingle is up.",
            f"  webhook URL:    {settings.public_url}/webhooks/github",
            f"  webhook secret: {settings.webhook_secret}",
            f"  builds:         {settings.public_url}/",
            f"  admin token:    {admin}",
            f"  redis:          {shown(redis.address)} ({redis.origin})",
            f"  registry:       {registry.address} ({registry.origin})",
            f"  docker engine:  {engine}",
            f"  workspaces:     {settings.workspace_root}",
            f"  local repos:    tingle trigger PATH (copies in {state_dir / 'repos'})",
        ]
    )


def _docker_engine() -> str:
    """Which engine steps run on, checked before anything starts."""
    from tingle.executor.docker import connect

    try:
        client = connect()
    except InfrastructureError as exc:
        raise SystemExit(f"{exc} (start one: bash scripts/docker-engine.sh)") from None
    try:
        version = client.version().get("Version", "?")
    finally:
        client.close()
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    return f"{where} (Docker {version})"


def _reachable(host: str) -> str:
    """The address `tingle trigger` on this machine reaches the web app at."""
    return {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)


async def _web_and_worker(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from tingle.web.app import create_app
    from tingle.web.http_server import server_options
    from tingle.worker.arq_worker import run_worker

    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host=host, port=port, **server_options(settings))
    )
    serving = asyncio.create_task(server.serve())
    try:
        # The worker takes SIGINT and SIGTERM (its handlers are installed last); when it has
        # stopped, so does the web app.
        await run_worker(settings)
    finally:
        server.should_exit = True
        await serving
