"""GitHub webhook payloads to build triggers: pure functions, no I/O.

`decode_payload` turns a request body into a JSON object; `parse_event` decides whether an event is
built and extracts what a build needs. Anything a build needs that is missing or of the wrong type
raises `MalformedPayload`; an event that is well formed but not built is an `Ignored` with a reason
the web layer can put in its 2xx answer.
"""

from __future__ import annotations

import json
import unicodedata
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tingle.forge.repo_names import clone_url, is_full_name
from tingle.plan import EventKind

_NULL_SHA = "0" * 40
_BRANCH_PREFIX = "refs/heads/"
_TAG_PREFIX = "refs/tags/"
_SHA_LENGTHS = (40, 64)  # SHA-1 and SHA-256 object names
_HEX_DIGITS = frozenset("0123456789abcdef")
_BUILT_PR_ACTIONS = frozenset({"opened", "synchronize", "reopened"})
GITHUB_URL = "https://github.com"  # clone URLs are derived from this (settings.github_url)
PR_TITLE_LIMIT = 256  # characters kept of a pull request's title (GitHub's own limit is 256)


class MalformedPayload(ValueError):
    """The body is not a webhook payload, or lacks a field a build needs."""


@dataclass(frozen=True)
class BuildTrigger:
    """Everything the web layer records and the worker needs to build one commit."""

    repo: str  # full name of the repository the webhook is for (a PR's base repository)
    clone_url: str  # <GitHub>/<head_repo>.git, derived: a payload's clone_url is never read
    sha: str
    ref: str  # the ref in the clone_url repository ("refs/heads/<branch>")
    branch: str  # the pushed branch, or a pull request's head branch
    event: EventKind
    pr_number: int | None
    head_repo: str  # full name of the repository the code comes from
    is_fork: bool
    default_branch: str | None
    installation_id: int | None  # present when the webhook comes from a GitHub App
    author: str
    commit_message: str  # first line; "" when the payload carries none (pull requests)
    commit_url: str
    pr_url: str | None
    compare_url: str | None
    action: str | None  # the pull request action
    base_branch: str | None = None  # the branch a pull request targets (`when: branch` filters)
    pr_title: str | None = None  # a pull request's title, cleaned and bounded (`clean_title`)


@dataclass(frozen=True)
class Ignored:
    reason: str


@dataclass(frozen=True)
class LaneClosed:
    """A branch was deleted or a pull request closed: its builds still queued or running are of
    no use any more. Exactly one of `branch` and `pr_number` is set."""

    repo: str
    reason: str
    branch: str | None = None
    pr_number: int | None = None


def decode_payload(content_type: str | None, body: bytes) -> dict[str, Any]:
    """The JSON object in a webhook body, sent as JSON or form-encoded in a `payload` field.

    A missing content type is read as JSON: GitHub always sends one, hand-made requests often don't.
    """
    media_type = (content_type or "application/json").split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        text = _utf8(body)
    elif media_type == "application/x-www-form-urlencoded":
        text = _form_payload(_utf8(body))
    else:
        raise MalformedPayload(f"unsupported content type {media_type!r}")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise MalformedPayload(f"body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise MalformedPayload(f"payload must be a JSON object, not {type(value).__name__}")
    return value


def parse_event(
    event: str, payload: Mapping[str, Any], *, github_url: str = GITHUB_URL
) -> BuildTrigger | LaneClosed | Ignored:
    """Decide whether `event` (the `X-GitHub-Event` header) builds, and extract what it builds;
    the code is fetched from `github_url` (the configured GitHub), whatever the payload says."""
    if event == "ping":
        return Ignored("ping")
    if event == "push":
        return _parse_push(payload, github_url)
    if event == "pull_request":
        return _parse_pull_request(payload, github_url)
    return Ignored(f"event '{event}' is not built")


def _parse_push(payload: Mapping[str, Any], github_url: str) -> BuildTrigger | LaneClosed | Ignored:
    ref = _str(payload, "ref")
    if ref.startswith(_TAG_PREFIX):
        return Ignored("tag push: not built")
    after = _sha(payload, "after")
    if not ref.startswith(_BRANCH_PREFIX):
        return Ignored(f"ref '{ref}' is not a branch")
    repository = _map(payload, "repository")
    repo = _full_name(repository, "full_name", "repository")
    if _opt_bool(payload, "deleted") or after == _NULL_SHA:
        return LaneClosed(repo, "branch deleted", branch=ref.removeprefix(_BRANCH_PREFIX))
    head_commit = _opt_map(payload, "head_commit")
    commit = head_commit or {}
    author = _opt_map(commit, "author", "head_commit") or {}
    pusher = _opt_map(payload, "pusher") or {}
    sender = _opt_map(payload, "sender") or {}
    html_url = _opt_str(repository, "html_url", "repository") or ""
    return BuildTrigger(
        repo=repo,
        clone_url=clone_url(github_url, repo),
        sha=after,
        ref=ref,
        branch=ref.removeprefix(_BRANCH_PREFIX),
        event=EventKind.PUSH,
        pr_number=None,
        head_repo=repo,
        is_fork=False,
        default_branch=_opt_str(repository, "default_branch", "repository"),
        installation_id=_installation_id(payload),
        # Who wrote the commit, falling back to who pushed it: a push of existing commits (a new
        # branch) has a head_commit, but its author may have no GitHub username.
        author=_first_str(
            author.get("username"), author.get("name"), pusher.get("name"), sender.get("login")
        ),
        commit_message=_first_line(_opt_str(commit, "message", "head_commit") or ""),
        commit_url=_opt_str(commit, "url", "head_commit") or f"{html_url}/commit/{after}",
        pr_url=None,
        compare_url=_opt_str(payload, "compare"),
        action=None,
    )


def _parse_pull_request(
    payload: Mapping[str, Any], github_url: str
) -> BuildTrigger | LaneClosed | Ignored:
    action = _str(payload, "action")
    if action == "closed":
        repository = _opt_map(payload, "repository") or {}
        base_repo = _map(_map(_map(payload, "pull_request"), "base", "pull_request"), "repo")
        repo = _opt_full_name(repository, "full_name", "repository") or _full_name(
            base_repo, "full_name", "pull_request.base.repo"
        )
        return LaneClosed(repo, "pull request closed", pr_number=_int(payload, "number"))
    if action not in _BUILT_PR_ACTIONS:
        return Ignored(f"pull_request action '{action}' is not built")
    pr = _map(payload, "pull_request")
    head = _map(pr, "head", "pull_request")
    base = _map(pr, "base", "pull_request")
    head_repo = _opt_map(head, "repo", "pull_request.head")
    if head_repo is None:
        # GitHub sends null when the fork the pull request comes from was deleted.
        return Ignored("pull_request head repository is gone (deleted fork)")
    base_repo = _map(base, "repo", "pull_request.base")
    head_name = _full_name(head_repo, "full_name", "pull_request.head.repo")
    base_name = _full_name(base_repo, "full_name", "pull_request.base.repo")
    named = _opt_full_name(_opt_map(payload, "repository") or {}, "full_name", "repository")
    if named is not None and named.lower() != base_name.lower():
        raise MalformedPayload(f"field 'repository.full_name' ({named}) is not the base repository")
    sha = _sha(head, "sha", "pull_request.head")
    branch = _str(head, "ref", "pull_request.head")
    user = _opt_map(pr, "user", "pull_request") or {}
    head_html = _opt_str(head_repo, "html_url", "pull_request.head.repo") or ""
    title = _opt_str(pr, "title", "pull_request")
    return BuildTrigger(
        repo=named or base_name,
        clone_url=clone_url(github_url, head_name),
        sha=sha,
        ref=_BRANCH_PREFIX + branch,
        branch=branch,
        event=EventKind.PULL_REQUEST,
        pr_number=_int(payload, "number"),
        head_repo=head_name,
        is_fork=head_name != base_name,
        default_branch=_opt_str(base_repo, "default_branch", "pull_request.base.repo"),
        installation_id=_installation_id(payload),
        author=_first_str(user.get("login")),
        commit_message="",  # a pull_request payload carries no commit message
        commit_url=f"{head_html}/commit/{sha}",
        pr_url=_opt_str(pr, "html_url", "pull_request"),
        compare_url=None,
        action=action,
        base_branch=_str(base, "ref", "pull_request.base"),
        pr_title=None if title is None else clean_title(title),
    )


def clean_title(text: str, limit: int = PR_TITLE_LIMIT) -> str:
    """A title from a payload as one line of plain text: control and format characters (newlines,
    NUL, escape sequences, bidirectional overrides) become spaces, runs of spaces one, and at most
    `limit` characters are kept (an ellipsis ends a cut one). Escaping is the page's job."""
    shown = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)
    shown = " ".join(shown.split())
    return shown if len(shown) <= limit else shown[: limit - 1].rstrip() + "…"


def _installation_id(payload: Mapping[str, Any]) -> int | None:
    installation = _opt_map(payload, "installation")
    return None if installation is None else _int(installation, "id", "installation")


def _str(obj: Mapping[str, Any], key: str, where: str = "") -> str:
    value: str = _field(obj, key, where, str, required=True)
    return value


def _full_name(obj: Mapping[str, Any], key: str, where: str = "") -> str:
    # Picks the secrets, the scheduler component and (as the clone URL) the code: checked strictly.
    value = _str(obj, key, where)
    if not is_full_name(value):
        raise MalformedPayload(f"field '{_path(where, key)}' is not 'owner/name': {value[:100]!r}")
    return value


def _opt_full_name(obj: Mapping[str, Any], key: str, where: str = "") -> str | None:
    return None if obj.get(key) is None else _full_name(obj, key, where)


def _sha(obj: Mapping[str, Any], key: str, where: str = "") -> str:
    # The sha ends up on a git command line in the worker: only a full object name may get there.
    value = _str(obj, key, where).lower()
    if len(value) not in _SHA_LENGTHS or not _HEX_DIGITS.issuperset(value):
        raise MalformedPayload(f"field '{_path(where, key)}' is not a commit sha: {value[:80]!r}")
    return value


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _opt_str(obj: Mapping[str, Any], key: str, where: str = "") -> str | None:
    value: str | None = _field(obj, key, where, str, required=False)
    return value


def _int(obj: Mapping[str, Any], key: str, where: str = "") -> int:
    value: int = _field(obj, key, where, int, required=True)
    return value


def _opt_bool(obj: Mapping[str, Any], key: str, where: str = "") -> bool | None:
    value: bool | None = _field(obj, key, where, bool, required=False)
    return value


def _map(obj: Mapping[str, Any], key: str, where: str = "") -> Mapping[str, Any]:
    value: Mapping[str, Any] = _field(obj, key, where, Mapping, required=True)
    return value


def _opt_map(obj: Mapping[str, Any], key: str, where: str = "") -> Mapping[str, Any] | None:
    value: Mapping[str, Any] | None = _field(obj, key, where, Mapping, required=False)
    return value


def _field(obj: Mapping[str, Any], key: str, where: str, kind: type, *, required: bool) -> Any:
    path = _path(where, key)
    value = obj.get(key)
    if value is None:
        if required:
            raise MalformedPayload(f"missing field '{path}'")
        return None
    # bool is a subclass of int: a PR number of `true` is malformed, not 1.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = "object" if kind is Mapping else kind.__name__
        raise MalformedPayload(f"field '{path}' must be {expected}, not {type(value).__name__}")
    return value


def _first_str(*candidates: object) -> str:
    return next((c for c in candidates if isinstance(c, str) and c), "")


def _first_line(message: str) -> str:
    return message.split("\n", 1)[0].strip()


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPayload(f"body is not UTF-8: {exc}") from exc


def _form_payload(text: str) -> str:
    try:
        fields = urllib.parse.parse_qs(text, keep_blank_values=True, errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedPayload(f"form body is malformed: {exc}") from exc
    values = fields.get("payload")
    if not values:
        raise MalformedPayload("form body has no 'payload' field")
    if len(values) > 1:
        raise MalformedPayload("form body has more than one 'payload' field")
    return values[0]


def _reject_constant(name: str) -> Any:
    # json.loads accepts NaN and Infinity, which are not JSON and never come from GitHub.
    raise ValueError(f"{name} is not valid JSON")
