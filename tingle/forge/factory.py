"""Which GitHub clients the settings ask for: one place for the web app and the worker."""

from __future__ import annotations

from tingle.errors import SettingError
from tingle.forge.auth import GitHubApp, GitHubClients
from tingle.forge.github import Credentials, GitHubClient, PyGithubClient
from tingle.settings import Settings


def github_clients(settings: Settings) -> GitHubClients | None:
    """None when no credentials are set: builds still run, and feedback waits in Redis."""
    app = None
    if settings.github_app_id and settings.github_app_private_key:
        try:
            app = GitHubApp(
                app_id=settings.github_app_id,
                private_key=settings.github_app_private_key,
                base_url=settings.github_api_url,
            )
        except (ValueError, TypeError):  # cryptography's words may quote the key: not repeated
            raise SettingError(
                "TINGLE_GITHUB_APP_PRIVATE_KEY", "not a PEM-encoded RSA private key"
            ) from None
    if app is None and not settings.github_token:
        return None

    def make_client(credentials: Credentials) -> GitHubClient:
        return PyGithubClient(
            credentials=credentials,
            base_url=settings.github_api_url,
            # No spacing here: callers spend a shared budget first (forge/writebudget.py), and a
            # fixed gap per client would only delay the next status.
            seconds_between_writes=0.0,
            seconds_between_requests=0.0,
        )

    return GitHubClients(
        token=settings.github_token or None,
        app=app,
        base_url=settings.github_api_url,
        make_client=make_client,
    )
