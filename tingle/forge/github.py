"""The GitHub API client: one small contract, PyGithub underneath.

Calls are synchronous (PyGithub uses `requests`); async callers run them with `asyncio.to_thread`.
Every failure, whether GitHub answered with an error or the network failed, surfaces as one
`GitHubError`, so callers that must never fail a build because of feedback catch one thing.
"""

from __future__ import annotations

import re
from typing import Any, Final, Protocol

import requests
from github import Auth, Github, GithubException, GithubRetry
from github.GithubObject import NotSet

DEFAULT_API_URL: Final = "https://api.github.com"
DESCRIPTION_LIMIT: Final = 140  # GitHub rejects longer status descriptions with a 422
STATES: Final = frozenset({"pending", "success", "failure", "error"})

# GitHub's owner and repository names: no slash, no URL syntax (PyGithub puts them in the path).
_REPO_NAME = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_ELLIPSIS = "…"


class GitHubError(Exception):
    """A GitHub call failed: an error answer (`status` set) or no answer at all (`status` None)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


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
    of `asyncio.to_thread` is fine for our use: requests' connection pool is thread-safe, and the
    only unguarded shared state is PyGithub's write-spacing clock, so two concurrent writes may be
    spaced less than `seconds_between_writes` apart. That spacing is courtesy towards GitHub's
    secondary rate limits, not a correctness need.

    Retries: `retries` more attempts on 5xx answers and connection errors (POST included: a
    repeated status post is harmless, it only adds an identical entry), with exponential backoff.
    When they run out the last answer is turned into a `GitHubError` carrying its status, instead of
    the `requests.RetryError` PyGithub would raise by default. A rate-limit 403 is waited out by
    PyGithub for at most `max_rate_limit_wait` seconds, then raised.
    """

    def __init__(
        self,
        *,
        token: str,
        base_url: str = DEFAULT_API_URL,
        seconds_between_writes: float = 1.0,
        seconds_between_requests: float = 0.25,
        retries: int = 3,
        backoff_factor: float = 0.5,
        max_rate_limit_wait: float = 60.0,
        timeout: int = 15,
    ) -> None:
        if not token:
            raise ValueError("a GitHub token is required")
        self.base_url = base_url.rstrip("/")
        retry = GithubRetry(
            total=retries,
            backoff_factor=backoff_factor,
            max_rate_limit_wait=max_rate_limit_wait,
            # Return the last 5xx answer when retries run out, so PyGithub raises a
            # GithubException with its status rather than requests' RetryError.
            raise_on_status=False,
        )
        self._github = Github(
            base_url=self.base_url,
            auth=Auth.Token(token),
            # Lazy: get_repo().get_commit() build URLs without fetching, so a status is one POST.
            lazy=True,
            seconds_between_writes=seconds_between_writes,
            seconds_between_requests=seconds_between_requests,
            retry=retry,
            timeout=timeout,
            user_agent="Tingle",
        )

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
        if not _REPO_NAME.fullmatch(repo):
            raise ValueError(f"repo must be 'owner/name', not {repo!r}")
        commit = self._github.get_repo(repo).get_commit(sha)
        try:
            commit.create_status(
                state=state,
                target_url=NotSet if target_url is None else target_url,
                description=describe(description),
                context=context,
            )
        except GithubException as exc:
            raise GitHubError(
                f"GitHub answered {exc.status} to a {state} status for {repo}@{sha[:12]}: "
                f"{_explain(exc)}",
                status=exc.status,
            ) from exc
        except requests.RequestException as exc:
            raise GitHubError(
                f"no answer from GitHub at {self.base_url} for a {state} status on "
                f"{repo}@{sha[:12]}: {exc}"
            ) from exc

    def close(self) -> None:
        self._github.close()


def _explain(exc: GithubException) -> str:
    """GitHub's message plus the detail of its `errors` list, which says *why* a 422 happened."""
    data: Any = exc.data
    if not isinstance(data, dict):
        return str(data)[:200]
    details = [
        e.get("message") or e.get("code") for e in data.get("errors") or [] if isinstance(e, dict)
    ]
    return "; ".join(str(part) for part in [data.get("message"), *details] if part)
