"""`tingle serve`, `tingle worker` and `tingle up` (web app and a worker in one process, with a
local Redis and Docker engine: the embedded default for trying Tingle on one machine)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import structlog
import uvicorn

from tingle.cli.localredis import local_redis
from tingle.logging_setup import configure_logging
from tingle.settings import Settings

log = structlog.get_logger(__name__)


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser("serve", help="run the web app (webhooks, pages, API)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.set_defaults(func=_serve)

    worker = subparsers.add_parser("worker", help="run a build worker")
    worker.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    worker.set_defaults(func=_worker)

    up = subparsers.add_parser(
        "up", help="web app and worker in one process, local Redis and Docker"
    )
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8080)
    up.add_argument("--state-dir", type=Path, default=Path.home() / ".local/share/tingle")
    up.add_argument(
        "--redis-port", type=int, default=6389, help="for the Redis started when none answers"
    )
    up.set_defaults(func=_up)


def _serve(args: argparse.Namespace) -> int:
    from tingle.web.app import create_app
    from tingle.web.http_server import server_options

    settings = Settings.from_env()
    configure_logging(settings.log_format)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, **server_options(settings))
    return 0


def _worker(args: argparse.Namespace) -> int:
    from tingle.worker import health as worker_health
    from tingle.worker.arq_worker import run_worker
    from tingle.worker.writable_folders import FolderNotWritable, check_worker_folders

    settings = Settings.from_env()
    configure_logging(settings.log_format)
    try:  # before taking a build: a root-owned mount would fail its checkout, not the start
        check_worker_folders(settings)
    except FolderNotWritable as exc:
        print(f"tingle worker: {exc}", file=sys.stderr, flush=True)
        return 2
    health = worker_health.WorkerHealth()
    if settings.metrics_port:  # here, not at worker start-up, which reruns after losing Redis
        worker_health.start_worker_server(settings.metrics_port, health)
    asyncio.run(run_worker(settings, burst=args.burst, health=health))
    return 0


def _up(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings.from_env()
    configure_logging(settings.log_format)
    with local_redis(settings.redis_url, state_dir, args.redis_port) as redis_url:
        settings = dataclasses.replace(
            settings,
            webhook_secret=settings.webhook_secret or _stored_secret(state_dir / "webhook-secret"),
            public_url=os.environ.get("TINGLE_PUBLIC_URL", f"http://{args.host}:{args.port}"),
            workspace_root=Path(os.environ.get("TINGLE_WORKSPACE_ROOT", state_dir / "workspaces")),
            archive_url=os.environ.get("TINGLE_ARCHIVE_URL", str(state_dir / "archive")),
            redis_url=redis_url,
        )
        print(f"Tingle is up.\n  webhook URL:    {settings.public_url}/webhooks/github")
        print(
            f"  webhook secret: {settings.webhook_secret}\n"
            f"  builds:         {settings.public_url}/",
            flush=True,
        )
        asyncio.run(_web_and_worker(settings, args.host, args.port))
    return 0


async def _web_and_worker(settings: Settings, host: str, port: int) -> None:
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


def _stored_secret(path: Path) -> str:
    if not path.exists():
        path.write_text(secrets.token_hex(20))
        path.chmod(0o600)
    return path.read_text().strip()
