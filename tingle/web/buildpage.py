"""`/builds/{id}`: one build, where a red status on a pull request leads.

The server renders the facts (commit, author, trigger, links to GitHub, steps with their states
and durations); `static/build.js` fills each step's log: the tail first, earlier lines on demand,
new lines live by server-sent events, and keeps states and durations current while it runs.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import Response

from tingle.build import Build, BuildState, StepRecord
from tingle.web.auth import access, is_admin, readable_page
from tingle.web.layout import duration, link, not_found, page, state_label, when
from tingle.web.views import (
    elapsed,
    find_build,
    image_view,
    log_truncated,
    repo_path,
    safe_url,
    trigger,
)

NOTICES = {  # ?notice= keys; the text shown is ours, never the query's
    "cancel-requested": "Cancel requested: the build stops in a moment.",
    "cancel-refused": "Nothing to cancel: the build has finished, or a cancel was asked already.",
    "restarted": "Restarted: this is a new build of the same commit.",
    "approved": "Approved: the build is queued.",
}
OPEN_STATES = ("running", "failure", "error", "cancelled")


def _facts(build: Build) -> str:
    message = build.commit_message.strip()
    title, _, rest = message.partition("\n")
    commit = link(safe_url(build.commit_url), build.sha[:10])
    how = escape(trigger(build))
    if build.pr_number is not None:
        how = link(safe_url(build.pr_url), trigger(build))
    took = duration(elapsed(build.started_at, build.finished_at))
    rows = [
        ("Commit", f"<code>{commit}</code> {escape(title)}"),
        ("Author", escape(build.author or "")),
        ("Trigger", how),
        ("Ref", f"<code>{escape(build.ref)}</code>"),
        ("Created", when(build.created_at)),
        ("Started", when(build.started_at)),
        ("Duration", f"<span id='build-duration'>{took}</span>"),
    ]
    if build.pr_number is not None and build.branch and build.base_branch:
        rows.insert(3, ("Branches", _head_into_base(build)))  # after Trigger
    if build.pr_title:
        rows.insert(2, ("Pull request", f"<span class='pr-title'>{escape(build.pr_title)}</span>"))
    rows.extend(_outcome(build))
    facts = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows)
    more = f"<pre class='message'>{escape(rest.strip())}</pre>" if rest.strip() else ""
    return f"<dl class='facts'>{facts}</dl>{more}"


def _outcome(build: Build) -> list[tuple[str, str]]:
    """Where the build came from and how it ended: restart of, result, who cancelled it, what
    superseded it, the image it pushed."""
    rows = []
    if build.restarted_from:
        original = build.restarted_from
        rows.append(("Restart of", link(f"/builds/{original}", f"#{original}")))
    if build.reason:
        rows.append(("Result", f"<span id='build-reason'>{escape(build.reason)}</span>"))
    if build.cancelled_by:
        rows.append(("Cancelled by", escape(build.cancelled_by)))
    if build.superseded_by:
        newer = build.superseded_by
        rows.append(("Superseded by", link(f"/builds/{newer}", f"#{newer}")))
    if build.image:
        rows.append(("Image", _image(build)))
    return rows


def _image(build: Build) -> str:
    """The digest the push recorded, then every tag pushed (all naming that digest)."""
    image = image_view(build) or {}
    tags = "".join(f"<li><code>{escape(tag)}</code></li>" for tag in image.get("tags", []))
    digest = escape(image.get("digest") or build.image or "")
    return f"<code class='digest'>{digest}</code><ul class='tags'>{tags}</ul>"


def _head_into_base(build: Build) -> str:
    """`feature → main`; from a fork, `fork-owner/app:feature → main`."""
    head = (
        f"{build.head_repo}:{build.branch}" if build.is_fork and build.head_repo else build.branch
    )
    return f"<code>{escape(head or '')}</code> → <code>{escape(build.base_branch or '')}</code>"


def _actions(request: Request, build: Build) -> str:
    if is_admin(request):
        finished = " hidden" if build.state.terminal else ""
        running = "" if build.state.terminal else " hidden"
        approve = (
            f"<form method='post' action='/builds/{escape(build.id)}/approve' class='approve'>"
            "<button type='submit'>Approve and run</button></form>"
            if build.state is BuildState.HELD
            else ""
        )
        return (
            f"<div class='actions'>{approve}"
            f"<form method='post' action='/builds/{escape(build.id)}/cancel' "
            f"class='cancel'{finished}><button type='submit'>Cancel build</button></form>"
            f"<form method='post' action='/builds/{escape(build.id)}/restart' "
            f"class='restart'{running}><button type='submit'>Restart build</button></form></div>"
        )
    if access(request).admin_token:
        target = f"/signin?next=/builds/{escape(build.id)}"
        return f"<p class='actions'><a href='{target}'>Sign in</a> to cancel or restart.</p>"
    return ""


def step_section(build: Build, index: int, step: StepRecord) -> str:
    state = str(step.state)
    raw = f"/api/builds/{escape(build.id)}/steps/{index}/log"
    exit_code = "" if step.exit_code is None else f"exit {step.exit_code}"
    error = f"<p class='problem'>{escape(step.error)}</p>" if step.error else ""
    hidden = "" if log_truncated(step) else " hidden"
    took = duration(elapsed(step.started_at, step.finished_at))
    return (
        f"<details class='step' id='step-{index}' data-step='{index}' data-state='{escape(state)}'"
        f"{' open' if state in OPEN_STATES else ''}>"
        f"<summary><span class='step-name'>{escape(step.name)}</span> "
        f"<span class='step-state'>{state_label(state)}</span> "
        f"<span class='step-duration'>{took}</span> "
        f"<span class='step-exit'>{escape(exit_code)}</span> "
        f"<small class='image'>{escape(step.image)}</small></summary>"
        f"<div class='log-tools'><a href='{raw}'>raw</a> <a href='{raw}?download=1'>download</a> "
        f"<span class='log-count'></span></div>"
        f"<div class='log' role='log'></div>{error}"
        f"<p class='truncated'{hidden}>✂ Log truncated: this step printed more than the log limit"
        " (TINGLE_STEP_LOG_LIMIT, or the build's TINGLE_BUILD_LOG_LIMIT); later lines were not"
        " kept.</p></details>"
    )


@readable_page
async def build_page(request: Request) -> Response:
    build = await find_build(request)
    if build is None:
        return not_found(request, "Build")
    notice = NOTICES.get(request.query_params.get("notice", ""))
    problems = "".join(f"<li><code>{escape(p)}</code></li>" for p in build.problems)
    steps = "".join(step_section(build, i, s) for i, s in enumerate(build.steps))
    state = str(build.state)
    waiting = not steps and not build.state.terminal
    body = (
        f"<div id='build' data-build='{escape(build.id)}' data-state='{escape(state)}' "
        f"data-steps='{len(build.steps)}'>"
        f"<h1>{link(repo_path(build.repo), build.repo)} · build #{escape(build.id)} "
        f"<span id='build-state'>{state_label(state)}</span></h1>"
        + (f"<p class='notice' role='status'>{escape(notice)}</p>" if notice else "")
        + _facts(build)
        + _actions(request, build)
        + (f"<h2>Problems in build-info.yaml</h2><ul>{problems}</ul>" if problems else "")
        + (f"<section class='steps'><h2>Steps</h2>{steps}</section>" if steps else "")
        + ("<p class='waiting'>Waiting for the plan…</p>" if waiting else "")
        + "</div>"
    )
    scripts = ("steplog.js", "build.js")
    return page(request, f"{build.repo} #{build.id}", body, scripts=scripts)
