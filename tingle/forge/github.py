"""The GitHub API client: one small contract, PyGithub underneath.

Calls are synchronous (PyGithub uses `requests`); async callers run them with `asyncio.to_thread`.
Every failure, whether GitHub answered with an error or the network failed, surfaces as one
`GitHubError` saying whether trying again later can help, so callers that must never fail a build
because of feedback catch one thing and know whether to schedule a catch-up.
"""

from __future__ import annotations

import email.utils
import re
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Final, Protocol, TypeVar
from urllib.parse import quote, urlsplit

import requests
from github import Auth, Github, GithubException, GithubRetry
from github.GithubObject import NotSet
from github.Issue import Issue
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError
from urllib3.response import HTTPResponse
from urllib3.util.retry import Retry

from tingle.forge.comment import COMMENT_LIMIT, last_page_url, marked_comment_id

DEFAULT_API_URL: Final = "https://api.github.com"
DESCRIPTION_LIMIT: Final = 140  # GitHub rejects longer status descriptions with a 422
STATES: Final = frozenset({"pending", "success", "failure", "error"})
SECONDARY_RATE_LIMIT_WAIT: Final = 60.0  # GitHub: "wait at least one minute" when it says no more

# GitHub's owner and repository names: no slash, no URL syntax (PyGithub puts them in the path).
_REPO_NAME = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
# Creating a comment twice makes two comments: such a POST is sent once, never repeated blindly.
_SEND_ONCE = re.compile(r"/issues/\d+/comments$")
_ELLIPSIS = "…"
T = TypeVar("T")


class GitHubError(Exception):
    """A GitHub call failed: an error answer (`status` set) or no answer at all (`status` None).

    `retryable`: the same call may succeed later (no answer, 5xx, a rate limit). `retry_after`:
    seconds to wait first, when GitHub said (`Retry-After`, `X-RateLimit-Reset`).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = (status is None or status >= 500) if retryable is None else retryable
        self.retry_after = retry_after

    @classmethod
    def answered(
        cls, what: str, status: int, headers: Mapping[str, Any] | None, data: Any
    ) -> GitHubError:
        """The error for GitHub's answer `status` to `what`, classified by its headers and body."""
        lower = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
        explained = _explain(data)
        wait = _seconds_to_wait(lower)
        rate_limited = status == 429 or (
            status == 403 and (wait is not None or "rate limit" in explained.lower())
        )
        if rate_limited and wait is None:
            wait = SECONDARY_RATE_LIMIT_WAIT
        return cls(
            f"GitHub answered {status} to {what}: {explained}",
            status=status,
            retryable=status >= 500 or rate_limited,
            retry_after=wait if (rate_limited or status >= 500) else None,
        )


class Credentials(Protocol):
    """Where a client's token comes from: a personal token, or a GitHub App installation."""

    def token(self) -> str:
        """A token to send now. Raises GitHubError when none can be had."""
        ...

    def invalidate(self, token: str) -> bool:
        """GitHub refused `token` (401): forget it. True when asking `token()` again may help."""
        ...


class PersonalToken:
    """A personal access token (or any fixed token): nothing to refresh."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("a GitHub token is required")
        self._token = token

    def token(self) -> str:
        return self._token

    def invalidate(self, token: str) -> bool:
        return False


class GitHubClient(Protocol):
    def create_status(
        self,
        repo: str,
        sha: str,
        *,
        state: str,
        target_url: str | None,
        description: str,
        context: str,
    ) -> None: ...

    def upsert_pr_comment(
        self, repo: str, number: int, body: str, known_comment_id: int | None = None
    ) -> int: ...

    def branch_head(self, repo: str, branch: str) -> str | None:
        """The sha `branch` points at now; None when there is no such branch."""
        ...

    @property
    def rate_limit_remaining(self) -> int | None: ...


def describe(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """`text` on one line, cut to at most `limit` characters with an ellipsis when cut.

    GitHub counts characters, not bytes, so `len` is the right measure.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + _ELLIPSIS


class PyGithubClient:
    """GitHubClient on PyGithub, for github.com or a GitHub Enterprise base URL.

    One `Github` instance (so one connection pool) serves every call. Sharing it between the threads
    of `asyncio.to_thread` is fine for our use: requests' connection pool is thread-safe. Writes
    are not spaced here (PyGithub would sleep in a thread, per process): the feedback publisher
    takes them from a `WriteBudget` shared by every process.

    Retries: `retries` more attempts on 5xx answers and connection errors (POST and PATCH too: a
    repeated status post only adds an identical entry, a repeated edit changes nothing; creating a
    comment is the exception, see `upsert_pr_comment`), with exponential backoff. When they run
    out the last answer becomes a `GitHubError` carrying its status. Rate limits are waited out
    only when GitHub asks for at most `max_rate_limit_wait` seconds; longer waits are not this
    call's business: the error is raised with `retry_after` for the caller to schedule.
    A 401 makes the credentials refresh once (an App's token expired or was revoked), then the
    call is made again.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        credentials: Credentials | None = None,
        base_url: str = DEFAULT_API_URL,
        seconds_between_writes: float = 0.0,
        seconds_between_requests: float = 0.0,
        retries: int = 3,
        backoff_factor: float = 0.5,
        max_rate_limit_wait: float = 10.0,
        timeout: int = 15,
    ) -> None:
        if credentials is None:
            credentials = PersonalToken(token or "")
        elif token is not None:
            raise ValueError("give a token or credentials, not both")
        self.base_url = base_url.rstrip("/")
        self._auth = _CredentialsAuth(credentials)
        retry = _Retry(
            total=retries,
            backoff_factor=backoff_factor,
            max_rate_limit_wait=max_rate_limit_wait,
            allowed_methods=Retry.DEFAULT_ALLOWED_METHODS | {"GET", "POST", "PATCH"},
            # Return the last 5xx answer when retries run out, so PyGithub raises a
            # GithubException with its status rather than requests' RetryError.
            raise_on_status=False,
        )
        self._github = Github(
            base_url=self.base_url,
            auth=self._auth,
            # Lazy: get_repo().get_commit() build URLs without fetching, so a status is one POST.
            lazy=True,
            seconds_between_writes=seconds_between_writes,
            seconds_between_requests=seconds_between_requests,
            retry=retry,
            timeout=timeout,
            user_agent="Tingle",
        )

    @property
    def rate_limit_remaining(self) -> int | None:
        """`X-RateLimit-Remaining` of GitHub's latest answer; None before the first one."""
        remaining = self._github.requester.rate_limiting[0]
        return None if remaining < 0 else remaining

    def create_status(
        self,
        repo: str,
        sha: str,
        *,
        state: str,
        target_url: str | None,
        description: str,
        context: str,
    ) -> None:
        if state not in STATES:
            raise ValueError(f"state must be one of {sorted(STATES)}, not {state!r}")
        commit = self._github.get_repo(_checked(repo)).get_commit(sha)
        self._call(
            f"a {state} status for {repo}@{sha[:12]}",
            lambda: commit.create_status(
                state=state,
                target_url=NotSet if target_url is None else target_url,
                description=describe(description),
                context=context,
            ),
        )

    def upsert_pr_comment(
        self, repo: str, number: int, body: str, known_comment_id: int | None = None
    ) -> int:
        """Edit Tingle's comment on pull request `number` to `body`, or create it; its id.

        The comment edited is `known_comment_id`, else the one carrying the marker (first page of
        the comments, then the last page). A comment deleted by a person is made anew. Creating
        is never repeated on a 5xx: GitHub may have made it, and the next upsert finds it.
        """
        if len(body) > COMMENT_LIMIT:
            raise ValueError(f"a comment body is at most {COMMENT_LIMIT} characters")
        issue = self._github.get_repo(_checked(repo)).get_issue(number)
        where = f"{repo}#{number}"

        def find() -> int | None:
            return self._call(f"listing the comments of {where}", lambda: self._find(issue))

        comment_id = find() if known_comment_id is None else known_comment_id
        if comment_id is not None and self._edit(issue, comment_id, body, where):
            return comment_id
        if known_comment_id is not None:  # the remembered comment is gone: is another one there?
            other = find()
            if (
                other is not None
                and other != known_comment_id
                and self._edit(issue, other, body, where)
            ):
                return other
        created = self._call(f"a comment on {where}", lambda: issue.create_comment(body))
        return created.id

    def branch_head(self, repo: str, branch: str) -> str | None:
        """`GET /repos/{o}/{r}/git/ref/heads/{branch}`: the sha the branch points at, or None
        when GitHub answers 404 (no such branch, or no access)."""
        url = f"{self._github.get_repo(_checked(repo)).url}/git/ref/heads/{quote(branch)}"
        requester = self._github.requester
        try:
            _, data = self._call(
                f"the head of {repo}:{branch}", lambda: requester.requestJsonAndCheck("GET", url)
            )
        except GitHubError as exc:
            if exc.status == 404:
                return None
            raise
        sha = data.get("object", {}).get("sha") if isinstance(data, dict) else None
        if not isinstance(sha, str) or data.get("ref") != f"refs/heads/{branch}":
            raise GitHubError(f"GitHub's answer for the head of {repo}:{branch} names no commit")
        return sha

    def close(self) -> None:
        self._github.close()

    def _edit(self, issue: Issue, comment_id: int, body: str, where: str) -> bool:
        """Edit the comment; False when it no longer exists (deleted by a person)."""
        comment = issue.get_comment(comment_id)
        try:
            self._call(f"editing comment {comment_id} on {where}", lambda: comment.edit(body))
        except GitHubError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def _find(self, issue: Issue) -> int | None:
        requester = self._github.requester
        url = f"{issue.url}/comments"
        headers, page = requester.requestJsonAndCheck("GET", url, parameters={"per_page": 100})
        found = marked_comment_id(page)
        last = last_page_url(headers.get("link"))
        if found is None and last is not None:  # a long thread: look at the newest comments
            _, page = requester.requestJsonAndCheck("GET", last)
            found = marked_comment_id(page)
        return found

    def _call(self, what: str, action: Callable[[], T]) -> T:
        refreshed = False
        while True:
            try:
                return action()
            except GithubException as exc:
                if exc.status == 401 and not refreshed and self._auth.refused():
                    refreshed = True
                    continue
                raise GitHubError.answered(what, exc.status, exc.headers, exc.data) from exc
            except requests.RequestException as exc:
                raise GitHubError(
                    f"no answer from GitHub at {self.base_url} for {what}: {exc}"
                ) from exc


class _CredentialsAuth(Auth.Auth):
    """PyGithub asks for the token on every request; remember per thread which one it sent."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials
        self._sent = threading.local()

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        token = self._credentials.token()
        self._sent.token = token
        return token

    def refused(self) -> bool:
        """The last token this thread sent got a 401: True when a retry may get a fresh one."""
        sent: str | None = getattr(self._sent, "token", None)
        return sent is not None and self._credentials.invalidate(sent)

    @property
    def _masked_token(self) -> str:
        return "token (removed)"


class _Retry(GithubRetry):
    """GithubRetry that gives up instead of sleeping long, and never repeats a comment POST."""

    def increment(  # type: ignore[override]
        self,
        method: str | None = None,
        url: str | None = None,
        response: HTTPResponse | None = None,  # type: ignore[override]
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Retry:
        path = urlsplit(url or "").path
        once = method == "POST" and _SEND_ONCE.search(path) is not None
        if error is not None and once and not isinstance(error, ConnectTimeoutError):
            raise error  # it may have arrived: do not send it again
        if response is not None and _pool is not None:
            wait = _seconds_to_wait({k.lower(): v for k, v in response.headers.items()})
            too_long = wait is not None and wait > (self.max_rate_limit_wait or 0)
            if once or too_long:  # urllib3 then hands back this answer, and PyGithub raises
                raise MaxRetryError(_pool, url or "", None)
        return super().increment(method, url, response, error, _pool, _stacktrace)


def _checked(repo: str) -> str:
    if not _REPO_NAME.fullmatch(repo):
        raise ValueError(f"repo must be 'owner/name', not {repo!r}")
    return repo


def _seconds_to_wait(headers: Mapping[str, str]) -> float | None:
    """GitHub's `Retry-After` (seconds or a date), else the primary limit's reset time."""
    retry_after = headers.get("retry-after", "").strip()
    if retry_after.isdigit():
        return float(retry_after)
    if retry_after:
        try:
            when = email.utils.parsedate_to_datetime(retry_after)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())
    reset = headers.get("x-ratelimit-reset", "")
    if headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
        return max(0.0, int(reset) - time.time())
    return None


def _explain(data: Any) -> str:
    """GitHub's message plus the detail of its `errors` list, which says *why* a 422 happened."""
    if not isinstance(data, dict):
        return str(data)[:200]
    details = [
        e.get("message") or e.get("code") for e in data.get("errors") or [] if isinstance(e, dict)
    ]
    return "; ".join(str(part) for part in [data.get("message"), *details] if part)
