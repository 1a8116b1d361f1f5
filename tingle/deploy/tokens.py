"""Where the bearer token for the scheduler's API comes from. Pluggable: a fixed token from the
settings, or a Google ID token whose audience is the API URL (what Styx checks)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from tingle.deploy.scheduler import SchedulerError


class TokenSource(Protocol):
    async def token(self) -> str: ...


class StaticToken:
    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self) -> str:
        return self._token


class GoogleIdToken:
    """A Google ID token for `audience`, refreshed when it expires (they last an hour).

    From a service account key (`service_account_info`, e.g. a deploy step's secret), or else from
    the worker's Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, or the metadata
    server on GCP). google-auth is synchronous, so fetching runs in a thread."""

    def __init__(
        self, audience: str, service_account_info: Mapping[str, Any] | None = None
    ) -> None:
        self._audience = audience
        self._info = service_account_info
        self._credentials: Any = None
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        async with self._lock:
            if self._credentials is None or not self._credentials.valid:
                self._credentials = await asyncio.to_thread(self._fetch)
            return str(self._credentials.token)

    def _fetch(self) -> Any:
        import google.auth.exceptions
        from google.auth.transport.requests import Request
        from google.oauth2 import id_token, service_account

        request = Request()
        # google-auth's factories are not annotated: hence the ignores below.
        try:
            if self._info is not None:
                factory = service_account.IDTokenCredentials.from_service_account_info
                credentials: Any = factory(  # type: ignore[no-untyped-call]
                    dict(self._info), target_audience=self._audience
                )
            else:
                fetch = id_token.fetch_id_token_credentials
                credentials = fetch(self._audience, request=request)  # type: ignore[no-untyped-call]
            credentials.refresh(request)
        except (google.auth.exceptions.GoogleAuthError, ValueError, KeyError) as exc:
            raise SchedulerError(f"could not get a Google ID token: {exc}") from exc
        return credentials
