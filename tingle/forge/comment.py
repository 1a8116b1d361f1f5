"""The one pull-request comment a build keeps up to date: its markdown, and how to find it again.

Pure functions. Everything that comes from a repository or a build (step names, reasons, log
lines) is untrusted text: it is escaped so that it cannot change the comment's layout, mention
people, or break out of the log's code block, and the whole body stays within GitHub's limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

MARKER: Final = "<!-- tingle:pr-comment -->"  # the first line of every Tingle comment
COMMENT_LIMIT: Final = 65536  # GitHub's limit on a comment body, in characters
LOG_TAIL_LINES: Final = 50  # how many of the failing step's last lines a caller should pass

_STATE_TEXT: Final = {
    "queued": "is queued",
    "running": "is running",
    "success": "passed",
    "failure": "failed",
    "error": "errored (a problem in Tingle or its machines, not in this code)",
    "skipped": "was skipped",
    "cancelled": "was cancelled",
}
_ESCAPED = re.compile(r"([\\`*_\[\]<>|~&#!])")
_MENTION = re.compile(r"@(?=\w)")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BACKTICKS = re.compile(r"`+")
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="([^"]*)"')


@dataclass(frozen=True)
class StepView:
    name: str
    state: str  # a StepState value: pending, running, success, failure, error, skipped, cancelled
    duration: float | None = None  # seconds; None while it has not finished


@dataclass(frozen=True)
class CommentView:
    build_id: str
    state: str  # a BuildState value: queued, running, success, failure, error, skipped, cancelled
    build_url: str
    repo: str
    sha: str
    pr_number: int
    steps: tuple[StepView, ...] = ()
    failing_step: str | None = None
    log_tail: tuple[str, ...] = ()  # the failing step's last lines, oldest first
    reason: str | None = None


def render_comment(view: CommentView, limit: int = COMMENT_LIMIT) -> str:
    """The comment's markdown, at most `limit` characters: the log's oldest lines are cut first,
    then the table's last rows."""
    log = "\n".join(_CONTROL.sub("", _ANSI.sub("", line)) for line in view.log_tail)

    def with_log(kept: int) -> str:
        return _render(view, len(view.steps), log, kept)

    if len(body := with_log(len(log))) <= limit:
        return body
    if len(with_log(0)) <= limit:
        return with_log(_largest(len(log), lambda k: len(with_log(k)) <= limit))
    rows = _largest(len(view.steps), lambda n: len(_render(view, n, log, 0)) <= limit)
    return _render(view, rows, log, 0)[:limit]  # the cut only bites for a tiny `limit`


def marked_comment_id(comments: Sequence[Any]) -> int | None:
    """The id of the newest comment (in a page of GitHub's comment JSON) that Tingle wrote."""
    for comment in reversed(comments):
        body = comment.get("body") if isinstance(comment, dict) else None
        if isinstance(body, str) and body.startswith(MARKER) and isinstance(comment["id"], int):
            return comment["id"]
    return None


def last_page_url(link_header: str | None) -> str | None:
    """The `rel="last"` URL of GitHub's `Link` header: None when this is the only page."""
    for url, rels in _LINK.findall(link_header or ""):
        if "last" in rels.split():
            return str(url)
    return None


def _render(view: CommentView, rows: int, log: str, kept: int) -> str:
    state = _STATE_TEXT.get(view.state) or _text(view.state, 40)
    url = _url(view.build_url)
    parts = [
        MARKER,
        f"**Tingle build [#{_text(view.build_id, 80)}](<{url}>) {state}** "
        f"for commit {_text(view.sha, 40)} of {_text(view.repo, 200)} "
        f"pull request {view.pr_number}.",
    ]
    if view.reason:
        parts.append(f"Reason: {_text(view.reason, 1000)}")
    if view.steps:
        parts.append(_table(view.steps, rows))
    if view.failing_step and log:
        name = _text(view.failing_step, 200)
        if kept >= len(log):
            parts.append(f"Last lines of the log of {name}:\n\n{_fenced(log)}")
        elif kept > 0:
            parts.append(
                f"Last lines of the log of {name}, cut to fit in a comment:\n\n"
                + _fenced("…" + log[len(log) - kept :])
            )
        else:
            parts.append(f"The log of {name} is too long to show here.")
    parts.append(f"Details and full logs: [build page](<{url}>)")
    return "\n\n".join(parts) + "\n"


def _table(steps: Sequence[StepView], rows: int) -> str:
    lines = ["| Step | State | Duration |", "| :--- | :--- | ---: |"]
    for step in steps[:rows]:
        lines.append(
            f"| {_text(step.name, 200)} | {_text(step.state, 40)} | {_duration(step.duration)} |"
        )
    if rows < len(steps):
        lines.append(f"| and {len(steps) - rows} more steps, on the build page | | |")
    return "\n".join(lines)


def _fenced(text: str) -> str:
    """A code block that no line of `text` can close: the fence is longer than any backtick run."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _text(text: str, limit: int) -> str:
    """Untrusted text as inert markdown on one line: no markup, no @mention, no table cell end."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _MENTION.sub("@\u200b", _ESCAPED.sub(r"\\\1", text))


def _url(url: str) -> str:
    """A URL that stays inside `(<...>)`."""
    return "".join(c if c.isprintable() and c not in " <>" else f"%{ord(c):02X}" for c in url)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _largest(top: int, fits: Callable[[int], bool]) -> int:
    """The largest n in [0, top] with fits(n), assuming fits(0) or that 0 is the fallback."""
    low, high = 0, top
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low
