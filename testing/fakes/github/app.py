"""The fake put together: every part's routes (also under GitHub Enterprise's /api/v3), each
request answered through the same steps (injected fault, authentication, rate limit, the part's
handler, recording), served over real HTTP by testing.servers.serve_app."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from testing.fakes.github.auth import AppAuth
from testing.fakes.github.comments import Comments
from testing.fakes.github.hooks import HookDeliveries
from testing.fakes.github.limits import RateLimits
from testing.fakes.github.repos import Repos
from testing.fakes.github.responses import error
from testing.fakes.github.state import Check, Handler
from testing.fakes.github.statuses import Statuses
from testing.servers import serve_app


class FakeGitHub(Statuses, Comments, HookDeliveries, AppAuth, Repos, RateLimits):
    """Use as a context manager: `with FakeGitHub() as fake: ... fake.base_url ...`."""

    def __init__(self, *, login: str = "tingle-bot") -> None:
        super().__init__(login=login)
        self._app = Starlette(routes=self._routes())
        self._serving: contextlib.ExitStack | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        serving = contextlib.ExitStack()
        self._url = serving.enter_context(
            serve_app(self._app, lifespan="off", log_level="warning", access_log=False)
        )
        self._serving = serving

    def stop(self) -> None:
        if self._serving is not None:
            self._serving.close()
        self._serving = None
        self._url = None

    def __enter__(self) -> FakeGitHub:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget every request, status, comment, fault, token rule and App; restore the limits."""
        super().reset()

    # --- HTTP -----------------------------------------------------------------------------------

    def _routes(self) -> list[BaseRoute]:
        def route(
            path: str, handler: Handler, methods: list[str], auth: Check | None = None
        ) -> Route:
            return Route(path, self._endpoint(handler, auth or self._unauthorised), methods=methods)

        repo = "/repos/{owner}/{repo}"
        api: list[BaseRoute] = [
            route(repo + "/statuses/{sha}", self._create_status, ["POST"]),
            route(repo + "/commits/{ref}/statuses", self._list_statuses, ["GET"]),
            route(repo, self._get_repo, ["GET"]),
            route(repo + "/git/ref/heads/{branch:path}", self._get_branch_ref, ["GET"]),
            route(repo + "/issues/{number:int}/comments", self._create_comment, ["POST"]),
            route(repo + "/issues/{number:int}/comments", self._list_comments, ["GET"]),
            route(repo + "/issues/comments/{id:int}", self._get_comment, ["GET"]),
            route(repo + "/issues/comments/{id:int}", self._edit_comment, ["PATCH"]),
            route(
                "/app/installations/{id:int}/access_tokens",
                self._create_installation_token,
                ["POST"],
                auth=self._not_app,
            ),
            route(repo + "/installation", self._repo_installation, ["GET"], auth=self._not_app),
            route(repo + "/hooks/{hook_id:int}/deliveries", self._list_deliveries, ["GET"]),
            route(
                repo + "/hooks/{hook_id:int}/deliveries/{delivery_id:int}/attempts",
                self._redeliver,
                ["POST"],
            ),
            route("/app/hook/deliveries", self._list_deliveries, ["GET"], auth=self._not_app),
            route(
                "/app/hook/deliveries/{delivery_id:int}/attempts",
                self._redeliver,
                ["POST"],
                auth=self._not_app,
            ),
        ]
        # GitHub Enterprise serves the same API under /api/v3.
        not_found = route(
            "/{path:path}", self._not_found, ["GET", "POST", "PATCH", "PUT", "DELETE"]
        )
        return [*api, Mount("/api/v3", routes=[*api, not_found]), not_found]

    def _endpoint(self, handler: Handler, auth: Check) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            try:
                payload = json.loads(body) if body else None
                bad_json = False
            except ValueError:
                payload, bad_json = None, True
            response = self._fault(request) or auth(request)
            if response is None:
                response = self._rate_limited()
            if response is None:
                response = (
                    error(400, "Problems parsing JSON")
                    if bad_json
                    else await handler(request, payload)
                )
            for name, value in self._rate_limit_headers().items():
                response.headers.setdefault(name, value)
            self._record(request, body, payload, response.status_code)
            return response

        return endpoint
