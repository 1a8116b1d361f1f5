"""HTML pages: the home page (the builds feed, and repositories with their newest build and
their default branch's state), and one repository's builds.

The build page is in `buildpage`. Every piece of text from a payload goes through `escape` (or
`layout.link`, which escapes): a branch named `<script>` is shown, never run.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from tingle.build import Build, BuildState
from tingle.web.auth import readable_page
from tingle.web.feed import Feed, default_branch_builds, home_feed
from tingle.web.layout import duration, link, page, pager, state_label, when
from tingle.web.listing import BuildFilter, builds_page, page_params
from tingle.web.views import app_state, first_line, repo_path, trigger

REPOS_PER_PAGE = 50


def _build_cells(build: Build) -> str:
    message = first_line(build.commit_message) or (build.pr_title or "")
    return (
        f"<td>{link(f'/builds/{build.id}', f'#{build.id}')}</td>"
        f"<td>{state_label(str(build.state))}</td><td>{escape(trigger(build))}</td>"
        f"<td><code>{escape(build.sha[:10])}</code> {escape(message[:100])}</td>"
        f"<td>{escape(build.author or '')}</td><td>{when(build.created_at)}</td>"
        f"<td>{duration(build.duration)}</td>"
    )


_BUILD_HEADINGS = (
    "<th>Build</th><th>State</th><th>Trigger</th><th>Commit</th><th>Author</th>"
    "<th>Created</th><th>Duration</th>"
)


def _feed(feed: Feed) -> str:
    if not feed.builds:
        return ""
    on_top = {b.id for b in feed.running}
    rows = "".join(
        f"<tr class='{'running' if b.id in on_top else 'recent'}' data-build='{escape(b.id)}'>"
        f"<td>{link(repo_path(b.repo), b.repo)}</td>{_build_cells(b)}</tr>"
        for b in feed.builds
    )
    more = feed.running_total - len(feed.running)
    hidden = f"<p class='more-running'>and {more} more running</p>" if more > 0 else ""
    return (
        f"<section class='feed' id='feed'><h1>Builds <small>{feed.running_total} running</small>"
        f"</h1><table class='list'><tr><th>Repository</th>{_BUILD_HEADINGS}</tr>{rows}</table>"
        f"{hidden}</section>"
    )


def _default_branch_cell(newest: Build | None, on_default: Build | None) -> str:
    if newest is None or not newest.default_branch:
        return "<td class='default-branch'>unknown</td>"
    branch = f"<code>{escape(newest.default_branch)}</code>"
    if on_default is None:
        return f"<td class='default-branch'>{branch} not built</td>"
    build = link(f"/builds/{on_default.id}", f"#{on_default.id}")
    return (
        f"<td class='default-branch'>{branch} {state_label(str(on_default.state))} {build} "
        f"{when(on_default.created_at)}</td>"
    )


@readable_page
async def index(request: Request) -> Response:
    store = app_state(request).store
    try:
        number, _ = page_params(request.query_params)
    except ValueError:
        number = 1
    names = await store.list_repos((number - 1) * REPOS_PER_PAGE, REPOS_PER_PAGE + 1)
    latest = await store.latest_builds(names[:REPOS_PER_PAGE])
    on_default = await default_branch_builds(store, latest)
    rows = []
    for name in names[:REPOS_PER_PAGE]:
        build = latest.get(name)
        cells = _build_cells(build) if build else "<td colspan='7'>no builds</td>"
        default = _default_branch_cell(build, on_default.get(name))
        rows.append(
            f"<tr data-repo='{escape(name)}'><td>{link(repo_path(name), name)}</td>{default}"
            f"{cells}</tr>"
        )
    headings = f"<th>Repository</th><th>Default branch</th>{_BUILD_HEADINGS}"
    table = (
        f"<table class='list repos'><tr>{headings}</tr>{''.join(rows)}</table>"
        if rows
        else "<p>No builds yet. Point a repository's webhook at <code>/webhooks/github</code>.</p>"
    )
    feed = _feed(await home_feed(store)) if number == 1 else ""  # the feed is page 1's
    heading = "<h2>Repositories</h2>" if feed else "<h1>Repositories</h1>"  # under "Builds"
    body = feed + heading + table + pager(request, number, len(names) > REPOS_PER_PAGE)
    return page(request, "Repositories", body)


def _filters(wanted: BuildFilter) -> str:
    states = "".join(
        f"<option value='{s.value}'{' selected' if wanted.state == s.value else ''}>"
        f"{s.value}</option>"
        for s in BuildState
    )
    return (
        "<form class='filters' method='get'>"
        f"<label>Branch <input name='branch' value='{escape(wanted.branch or '')}'></label> "
        f"<label>PR <input name='pr' inputmode='numeric' size='6' "
        f"value='{'' if wanted.pr is None else wanted.pr}'></label> "
        f"<label>State <select name='state'><option value=''>any</option>{states}</select></label>"
        " <button type='submit'>Filter</button> <a href='?'>clear</a></form>"
    )


@readable_page
async def repo_page(request: Request) -> Response:
    repo = f"{request.path_params['owner']}/{request.path_params['repo']}"
    try:
        number, per_page = page_params(request.query_params)
        wanted = BuildFilter.from_query(request.query_params)
    except ValueError as exc:
        problem = f"<h1>{escape(repo)}</h1><p class='problem'>{escape(str(exc))}</p>"
        return page(request, repo, problem, status=400)
    found = await builds_page(app_state(request).store, repo, wanted, number, per_page)
    rows = "".join(f"<tr>{_build_cells(b)}</tr>" for b in found.builds)
    table = (
        f"<table class='list'><tr>{_BUILD_HEADINGS}</tr>{rows}</table>"
        if rows
        else "<p>No builds match.</p>"
    )
    badge = f"/badge/{quote(repo)}.svg"
    body = (
        f"<h1>{escape(repo)} <img class='badge' src='{escape(badge)}' alt='build state'></h1>"
        + _filters(wanted)
        + table
        + pager(request, number, found.has_more)
    )
    return page(request, repo, body)
