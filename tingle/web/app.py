"""The web app (webhook receiver, pages, JSON API): the composition root of the web process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from tingle import metrics
from tingle.archive.blobs import BlobStore
from tingle.archive.logs import LogReader
from tingle.builds.admission import Admitter
from tingle.builds.notices import BuildNotices
from tingle.errors import SettingError
from tingle.forge.feedback_keys import feedback_due_key
from tingle.pipeline.schema import schema_json
from tingle.queue import close_bounded, connect_bounded
from tingle.settings import Settings
from tingle.store import BuildStore
from tingle.web import actions, api, api_index, badge, buildpage, logapi, pages, signin, sse
from tingle.web.auth import SessionLookup
from tingle.web.body_budget import BodyBudget
from tingle.web.layout import STATIC_DIR
from tingle.web.log_fanout import LogFanout
from tingle.web.sessions import SessionStore
from tingle.web.signin_limits import SigninLimits
from tingle.web.sse_limits import SseLimits
from tingle.web.state import AppState
from tingle.web.webhooks import github_webhook


async def build_info_schema(request: Request) -> Response:
    """The JSON Schema of build-info.yaml v2, for editors (yaml-language-server: $schema=...)."""
    return Response(schema_json(), media_type="application/schema+json")


async def metrics_endpoint(request: Request) -> Response:
    app: AppState = request.app.state.tingle
    accept = request.headers.get("accept", "")
    body, content_type = await metrics.exposition(
        app.queue,
        app.settings.queue_name,
        accept,
        feedback_due_key(app.settings.key_prefix),
        app.store.key("archive-due"),
    )
    return Response(body, headers={"Content-Type": content_type})


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def readyz(request: Request) -> Response:
    app: AppState = request.app.state.tingle
    try:
        await app.queue.ping()
    except Exception as exc:
        return JSONResponse({"ok": False, "redis": str(exc)}, status_code=503)
    return JSONResponse({"ok": True})


def web_view_routes() -> list[Route | Mount]:
    """Pages, the JSON API, live logs, the badge and the actions (see each module)."""
    build = "/builds/{build_id}"
    api_build = "/api/builds/{build_id}"
    step = api_build + "/steps/{step:int}"
    return [
        Route("/", pages.index),
        Route("/repos/{owner}/{repo}", pages.repo_page),
        Route(build, buildpage.build_page),
        Route(build + "/cancel", actions.cancel_page, methods=["POST"]),
        Route(build + "/approve", actions.approve_page, methods=["POST"]),
        Route(build + "/restart", actions.restart_page, methods=["POST"]),
        Route("/signin", signin.signin_form, methods=["GET"]),
        Route("/signin", signin.signin, methods=["POST"]),
        Route("/signout", signin.signout, methods=["POST"]),
        Route("/badge/{owner}/{repo}.svg", badge.badge),
        Route("/api", api_index.api_index),
        Route("/api/feed", api.feed),
        Route("/api/repos", api.repos),
        Route("/api/repos/{owner}/{repo}/builds", api.repo_builds),
        Route(api_build, api.build),
        Route(api_build + "/steps", api.steps),
        Route(api_build + "/cancel", actions.cancel_api, methods=["POST"]),
        Route(api_build + "/approve", actions.approve_api, methods=["POST"]),
        Route(api_build + "/restart", actions.restart_api, methods=["POST"]),
        Route(step + "/log", logapi.step_log),
        Route(step + "/events", sse.step_events),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]


def create_app(settings: Settings) -> Starlette:
    if not settings.webhook_secret:
        raise SettingError(
            "TINGLE_WEBHOOK_SECRET", "required by the web app: unsigned webhooks are never accepted"
        )
    blobs = BlobStore.open(settings.archive_url)  # a folder it cannot make: refused before serving

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Bounded pools: the blocking reads of live logs in one of their own, so that however
        # many steps are watched, webhooks and pages still get a connection.
        timeout = settings.redis_pool_timeout
        pool = connect_bounded(settings.redis_url, settings.redis_max_connections, timeout)
        live = connect_bounded(settings.redis_url, settings.redis_live_log_connections, timeout)
        store = BuildStore(pool, settings.key_prefix)
        live_logs = LogFanout(store, BuildStore(live, settings.key_prefix), block_ms=sse.BLOCK_MS)
        # No GitHub work here: the web app tells the workers which builds changed, and they
        # publish the feedback, so that a webhook costs this process one Redis round trip.
        notices = BuildNotices(pool, settings.key_prefix)
        admitter = Admitter(store, pool, settings.queue_name, settings.keep_builds_per_lane)
        sessions = SessionStore(pool, settings.key_prefix, settings.session_seconds)
        limits = SigninLimits(
            pool,
            settings.key_prefix,
            settings.signin_failures_per_address,
            settings.signin_failures_total,
            settings.signin_window_seconds,
        )
        app.state.tingle = AppState(
            settings=settings,
            queue=pool,
            store=store,
            notices=notices,
            admitter=admitter,
            sessions=sessions,
            signin_limits=limits,
            logs=LogReader(store, blobs),
            live_logs=live_logs,
            webhook_bodies=BodyBudget(settings.webhook_bytes_in_flight),
            sse_limits=SseLimits(settings.sse_per_address, settings.sse_total),
        )
        try:
            yield
        finally:
            await live_logs.close()
            await close_bounded(live)
            await close_bounded(pool)

    return Starlette(
        routes=[
            Route("/webhooks/github", github_webhook, methods=["POST"]),
            *web_view_routes(),
            Route("/schema/build-info.v2.json", build_info_schema),
            Route("/metrics", metrics_endpoint),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        middleware=[Middleware(SessionLookup)],
        lifespan=lifespan,
    )
