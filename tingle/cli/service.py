"""`tingle serve`, `tingle worker` and `tingle up` (web app and a worker in one process, with a
Redis and a registry of its own: the embedded default for trying Tingle on one machine; see
tingle.cli.local_up)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import structlog
import uvicorn

from tingle.cli import local_up
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
        "up", help="web app and worker in one process, with their own Redis and registry"
    )
    local_up.add_arguments(up)
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

    settings = Settings.from_env()
    configure_logging(settings.log_format)
    health = worker_health.WorkerHealth()
    if settings.metrics_port:  # here, not at worker start-up, which reruns after losing Redis
        worker_health.start_worker_server(settings.metrics_port, health)
    asyncio.run(run_worker(settings, burst=args.burst, health=health))
    return 0


def _up(args: argparse.Namespace) -> int:
    return local_up.run(args)
