"""Cancel, restart and approve, for signed-in people (the build page's buttons) and for API clients.

The work is `tingle.builds.control`'s: cancelling asks the worker that runs the build to stop it (a
queued build ends at once); restarting queues the same commit as a new build. `control` is
imported when a button is pressed, not when the web app starts.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from tingle.build import Build
from tingle.web.auth import actor, is_admin, same_origin, unauthorized
from tingle.web.views import app_state, find_build


def _refusal(request: Request, *, api: bool) -> Response | None:
    """Why this request may not act, or None when it may."""
    if not is_admin(request):
        if api:
            return unauthorized("cancel and restart need the admin token")
        build_id = request.path_params["build_id"]
        return RedirectResponse(f"/signin?next=/builds/{build_id}", status_code=303)
    if not same_origin(request):
        return JSONResponse({"error": "cross-site request refused"}, status_code=403)
    return None


async def _target(request: Request, *, api: bool) -> Build | Response:
    """The build to act on, or the answer saying why there is none or why not."""
    refused = _refusal(request, api=api)
    if refused is not None:
        return refused
    build = await find_build(request)
    if build is None:
        return JSONResponse({"error": "build not found"}, status_code=404)
    return build


async def _cancel(request: Request, *, api: bool) -> Response:
    build = await _target(request, api=api)
    if isinstance(build, Response):
        return build
    from tingle.builds.control import cancel_build

    who = actor(request)
    cancelled = await cancel_build(app_state(request), build.id, f"cancelled by {who}", by=who)
    if api:
        return JSONResponse({"build_id": build.id, "cancelled": cancelled})
    notice = "cancel-requested" if cancelled else "cancel-refused"
    return RedirectResponse(f"/builds/{build.id}?notice={notice}", status_code=303)


async def _restart(request: Request, *, api: bool) -> Response:
    build = await _target(request, api=api)
    if isinstance(build, Response):
        return build
    from tingle.builds.control import restart_build

    new_id = await restart_build(app_state(request), build.id)
    url = app_state(request).settings.build_url(new_id)
    if api:
        return JSONResponse({"build_id": new_id, "restarted": build.id, "url": url}, 201)
    return RedirectResponse(f"/builds/{new_id}?notice=restarted", status_code=303)


async def _approve(request: Request, *, api: bool) -> Response:
    build = await _target(request, api=api)
    if isinstance(build, Response):
        return build
    from tingle.builds.control import approve_build

    approved = await approve_build(app_state(request), build.id, actor(request))
    if api:
        return JSONResponse({"build_id": build.id, "approved": approved})
    return RedirectResponse(f"/builds/{build.id}?notice=approved", status_code=303)


async def approve_page(request: Request) -> Response:
    return await _approve(request, api=False)


async def approve_api(request: Request) -> Response:
    return await _approve(request, api=True)


async def cancel_page(request: Request) -> Response:
    return await _cancel(request, api=False)


async def restart_page(request: Request) -> Response:
    return await _restart(request, api=False)


async def cancel_api(request: Request) -> Response:
    return await _cancel(request, api=True)


async def restart_api(request: Request) -> Response:
    return await _restart(request, api=True)
