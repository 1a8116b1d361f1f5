"""Which GitHub client the settings ask for: one place for the web app and the worker."""

from __future__ import annotations

from tingle.config import Settings
from tingle.forge.github import GitHubClient, PyGithubClient


def github_client(settings: Settings) -> GitHubClient | None:
    """None when no credentials are set: builds still run, and statuses wait in Redis."""
    if not settings.github_token:
        return None
    return PyGithubClient(
        base_url=settings.github_api_url,
        token=settings.github_token,
        seconds_between_writes=settings.github_write_interval,
        # Writes are spaced already; spacing reads too would only delay the next build's status.
        seconds_between_requests=0.0,
    )
