"""GitHub App authentication, and the GitHub clients of a process, one per App installation.

An App proves who it is with a JWT signed by its private key (RS256, valid at most ten minutes)
and trades it for an installation token (`POST /app/installations/{id}/access_tokens`) that acts
on the repositories of one installation for an hour. Tokens are cached per installation, renewed
`refresh_margin` seconds before they expire, and dropped when GitHub refuses one (401), so a
token expiring or revoked in the middle of a build costs one exchange and no failed call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tingle.forge.github import (
    DEFAULT_API_URL,
    Credentials,
    GitHubClient,
    GitHubError,
    PersonalToken,
    PyGithubClient,
)

JWT_BACKDATE: Final = 60  # seconds: GitHub's clock may be behind ours
JWT_LIFETIME: Final = 540  # seconds after now: with the backdating, GitHub's ten-minute maximum
REFRESH_MARGIN: Final = 300.0  # renew an installation token this many seconds before it expires


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float  # seconds since the epoch


class GitHubApp:
    """One GitHub App: makes JWTs, and keeps one installation token per installation.

    Thread-safe: each installation has its own lock, so concurrent calls for one installation
    make one exchange between them, and a slow exchange blocks no other installation.
    """

    def __init__(
        self,
        *,
        app_id: int | str,
        private_key: str | bytes,
        base_url: str = DEFAULT_API_URL,
        refresh_margin: float = REFRESH_MARGIN,
        retries: int = 3,
        backoff_factor: float = 0.5,
        timeout: float = 15.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        pem = private_key.encode() if isinstance(private_key, str) else private_key
        key = load_pem_private_key(pem, password=None)  # a ValueError now, not at the first build
        if not isinstance(key, RSAPrivateKey):
            raise ValueError("a GitHub App's private key is an RSA key")
        self.app_id = str(app_id)
        self.base_url = base_url.rstrip("/")
        self.refresh_margin = refresh_margin
        self._key = key
        self._timeout = timeout
        self._clock = clock
        self._tokens: dict[int, _Token] = {}
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()
        retry = Retry(
            total=retries,
            backoff_factor=backoff_factor,
            status_forcelist=range(500, 600),
            allowed_methods={"POST"},  # asking twice only makes a second valid token
            raise_on_status=False,
        )
        self._session = requests.Session()
        self._session.mount("http://", HTTPAdapter(max_retries=retry))
        self._session.mount("https://", HTTPAdapter(max_retries=retry))

    def jwt(self) -> str:
        now = int(self._clock())
        claims = {"iat": now - JWT_BACKDATE, "exp": now + JWT_LIFETIME, "iss": self.app_id}
        return jwt.encode(claims, self._key, algorithm="RS256")

    def installation(self, installation_id: int) -> InstallationToken:
        return InstallationToken(self, installation_id)

    def token(self, installation_id: int) -> str:
        """A token for the installation, valid for at least `refresh_margin` more seconds."""
        with self._lock(installation_id):
            cached = self._tokens.get(installation_id)
            if cached is not None and cached.expires_at - self.refresh_margin > self._clock():
                return cached.value
            fresh = self._exchange(installation_id)
            self._tokens[installation_id] = fresh
            return fresh.value

    def invalidate(self, installation_id: int, token: str) -> bool:
        """GitHub refused `token`: forget it, unless another thread has replaced it already."""
        with self._lock(installation_id):
            cached = self._tokens.get(installation_id)
            if cached is not None and cached.value == token:
                del self._tokens[installation_id]
        return True

    def close(self) -> None:
        self._session.close()

    def _lock(self, installation_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(installation_id, threading.Lock())

    def _exchange(self, installation_id: int) -> _Token:
        what = f"an installation token request for installation {installation_id}"
        url = f"{self.base_url}/app/installations/{installation_id}/access_tokens"
        headers = {
            "Authorization": f"Bearer {self.jwt()}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "Tingle",
        }
        try:
            response = self._session.post(url, headers=headers, timeout=self._timeout)
        except requests.RequestException as exc:
            raise GitHubError(
                f"no answer from GitHub at {self.base_url} for {what}: {exc}"
            ) from exc
        try:
            data: Any = response.json()
        except ValueError:
            data = response.text[:200]
        if not response.ok:
            raise GitHubError.answered(what, response.status_code, response.headers, data)
        try:
            expires_at = datetime.fromisoformat(data["expires_at"]).timestamp()
            return _Token(str(data["token"]), expires_at)
        except (KeyError, TypeError, ValueError) as exc:
            raise GitHubError(
                f"GitHub's answer to {what} has no token or expiry: {str(data)[:200]}",
                status=response.status_code,
                retryable=True,
            ) from exc


class InstallationToken:
    """Credentials for one installation of a GitHub App."""

    def __init__(self, app: GitHubApp, installation_id: int) -> None:
        self.app = app
        self.installation_id = installation_id

    def token(self) -> str:
        return self.app.token(self.installation_id)

    def invalidate(self, token: str) -> bool:
        return self.app.invalidate(self.installation_id, token)


class NoInstallation:
    """Credentials for a build that names no installation when only an App is configured."""

    def token(self) -> str:
        raise GitHubError(
            "this build names no GitHub App installation (the webhook had no installation.id) "
            "and no personal token is configured",
            retryable=False,
        )

    def invalidate(self, token: str) -> bool:
        return False


class GitHubClients:
    """The GitHub clients of one process: one per App installation, or one for a token.

    `for_build(build.installation_id)` gives the client for a build: with an App, the client of
    that installation (a build without one falls back to the personal token, if any); with only
    a token, the one client. Clients are made once per installation and shared between threads.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        app: GitHubApp | None = None,
        base_url: str = DEFAULT_API_URL,
        make_client: Callable[[Credentials], GitHubClient] | None = None,
    ) -> None:
        if not token and app is None:
            raise ValueError("GitHub clients need a token or an App")
        self._token = PersonalToken(token) if token else None
        self._app = app
        self._make = make_client or (lambda c: PyGithubClient(credentials=c, base_url=base_url))
        self._clients: dict[int | None, tuple[Credentials, GitHubClient]] = {}
        self._guard = threading.Lock()

    def for_build(self, installation_id: int | None) -> GitHubClient:
        return self._entry(installation_id)[1]

    def clone_token(self, installation_id: int | None) -> str:
        """A token to clone with (`https://x-access-token:TOKEN@github.com/...`). Blocking."""
        return self._entry(installation_id)[0].token()

    def rate_limits(self) -> dict[int | None, int | None]:
        """The latest `X-RateLimit-Remaining` per installation (None: the token), for metrics."""
        with self._guard:
            entries = list(self._clients.items())
        return {key: client.rate_limit_remaining for key, (_, client) in entries}

    def close(self) -> None:
        with self._guard:
            entries, self._clients = list(self._clients.values()), {}
        for _, client in entries:
            if isinstance(client, PyGithubClient):
                client.close()
        if self._app is not None:
            self._app.close()

    def _entry(self, installation_id: int | None) -> tuple[Credentials, GitHubClient]:
        key = installation_id if self._app is not None else None
        with self._guard:
            entry = self._clients.get(key)
            if entry is None:
                credentials: Credentials
                if self._app is not None and key is not None:
                    credentials = self._app.installation(key)
                else:
                    credentials = self._token or NoInstallation()
                entry = self._clients[key] = (credentials, self._make(credentials))
            return entry
