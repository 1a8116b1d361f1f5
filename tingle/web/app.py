"""The web app (webhook receiver, pages, JSON API): the composition root of the web process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tingle.config import Settings
from tingle.forge.factory import github_client
from tingle.forge.reporter import StatusReporter
from tingle.queue import connect
from tingle.store import BuildStore
from tingle.web import pages
from tingle.web.state import AppState
from tingle.web.webhooks import github_webhook


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def readyz(request: Request) -> Response:
    app: AppState = request.app.state.tingle
    try:
        await app.queue.ping()
    except Exception as exc:
        return JSONResponse({"ok": False, "redis": str(exc)}, status_code=503)
    return JSONResponse({"ok": True})


def create_app(settings: Settings) -> Starlette:
    if not settings.webhook_secret:
        raise ValueError("TINGLE_WEBHOOK_SECRET is required: unsigned webhooks are never accepted")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = connect(settings.redis_url)
        client = github_client(settings)
        app.state.tingle = AppState(
            settings=settings,
            queue=pool,
            store=BuildStore(pool, settings.key_prefix),
            reporter=StatusReporter(pool, client, prefix=settings.key_prefix),
        )
        try:
            yield
        finally:
            await pool.aclose()

    return Starlette(
        routes=[
            Route("/webhooks/github", github_webhook, methods=["POST"]),
            Route("/", pages.index),
            Route("/builds/{build_id}", pages.build_page),
            Route("/api/builds/{build_id}", pages.build_json),
            Route("/api/builds/{build_id}/steps/{step:int}/log", pages.step_log),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
