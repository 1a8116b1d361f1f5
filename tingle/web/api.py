"""The JSON API, fit for a Backstage CI/CD tab.

- `GET /api`                                            the endpoints, and how to authenticate
- `GET /api/feed`                                       running builds, then the newest ones
- `GET /api/repos?page=&per_page=`                      repositories and their newest build
- `GET /api/repos/{owner}/{repo}/builds?page=&per_page=&branch=&pr=&state=`
- `GET /api/builds/{id}`                                one build with its steps
- `GET /api/builds/{id}/steps`                          its steps
- `GET /api/builds/{id}/steps/{n}/log`                  a step's log (see `logapi`)
- `GET /api/builds/{id}/steps/{n}/events`               its new lines, live (see `sse`)
- `POST /api/builds/{id}/cancel`, `POST /api/builds/{id}/restart`   (see `actions`)

Lists answer `{"items": [...], "page", "per_page", "has_more", "total"}` (`total` is null when a
filter is applied: counting matches would mean reading every record).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tingle.build import Build
from tingle.web.auth import readable_api
from tingle.web.feed import default_branch_builds, home_feed
from tingle.web.listing import BuildFilter, builds_page, page_params
from tingle.web.views import app_state, build_summary, build_view, find_build, step_view


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _listing(items: list[dict[str, Any]], page: int, per_page: int, **more: Any) -> JSONResponse:
    return JSONResponse({"items": items, "page": page, "per_page": per_page, **more})


@readable_api
async def repos(request: Request) -> Response:
    state = app_state(request)
    try:
        page, per_page = page_params(request.query_params)
    except ValueError as exc:
        return _error(400, str(exc))
    names = await state.store.list_repos((page - 1) * per_page, per_page + 1)
    latest = await state.store.latest_builds(names[:per_page])
    on_default = await default_branch_builds(state.store, latest)
    public_url = state.settings.public_url

    def summary(build: Build | None) -> dict[str, Any] | None:
        return None if build is None else build_summary(build, public_url)

    items = [
        {
            "repo": name,
            "builds_url": f"/api/repos/{name}/builds",
            "latest": summary(latest.get(name)),
            "default_branch": latest[name].default_branch if name in latest else None,
            "default_branch_latest": summary(on_default.get(name)),
        }
        for name in names[:per_page]
    ]
    total = await state.store.count_repos()
    return _listing(items, page, per_page, has_more=len(names) > per_page, total=total)


@readable_api
async def feed(request: Request) -> Response:
    state = app_state(request)
    found = await home_feed(state.store)
    on_top = {b.id for b in found.running}
    items = [
        {**build_summary(b, state.settings.public_url), "on_top": b.id in on_top}
        for b in found.builds
    ]
    return JSONResponse({"items": items, "running_total": found.running_total})


@readable_api
async def repo_builds(request: Request) -> Response:
    state = app_state(request)
    repo = f"{request.path_params['owner']}/{request.path_params['repo']}"
    try:
        page, per_page = page_params(request.query_params)
        wanted = BuildFilter.from_query(request.query_params)
    except ValueError as exc:
        return _error(400, str(exc))
    found = await builds_page(state.store, repo, wanted, page, per_page)
    items = [build_summary(b, state.settings.public_url) for b in found.builds]
    return _listing(items, page, found.per_page, has_more=found.has_more, total=found.total)


@readable_api
async def build(request: Request) -> Response:
    found = await find_build(request)
    if found is None:
        return _error(404, "build not found")
    return JSONResponse(build_view(found, app_state(request).settings.public_url))


@readable_api
async def steps(request: Request) -> Response:
    found = await find_build(request)
    if found is None:
        return _error(404, "build not found")
    return JSONResponse({"items": [step_view(found, i, s) for i, s in enumerate(found.steps)]})
