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
    serve = subparsers.add_parser(
        "serve",
        help="run the web app (webhooks, pages, API)",
        description="Run the web app: it receives GitHub's webhooks and queues builds on Redis, "
        "and serves the build pages, live logs and the JSON API. It runs no build itself: start "
        "workers with 'tingle worker'. Needs TINGLE_WEBHOOK_SECRET.",
    )
    _listen_options(serve)
    serve.set_defaults(func=_serve)

    worker = subparsers.add_parser(
        "worker",
        help="run a build worker",
        description="Run a build worker: it takes builds from the Redis queue, checks out each "
        "commit, runs its steps on the local Docker engine and reports to GitHub. Run as many as "
        "you like, on as many machines, against one Redis.",
    )
    worker.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    worker.set_defaults(func=_worker)

    up = subparsers.add_parser(
        "up",
        help="web app and worker in one process, with their own Redis and registry",
        description="Try Tingle on one machine: the web app and a worker in one process, with "
        "a Redis and a registry of its own (unless --redis-url or TINGLE_REDIS_URL, "
        "TINGLE_REGISTRY say otherwise) and the local Docker engine. Prints the webhook URL and "
        "secret, the admin token's file, and what it uses.",
    )
    local_up.add_arguments(up)
    up.set_defaults(func=_up)


def _listen_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=port_number, default=8080, help="port to listen on (default: %(default)s)"
    )


def port_number(text: str) -> int:
    """argparse's type for a TCP port: a whole number from 1 to 65535."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, got {text!r}")
    return value


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
