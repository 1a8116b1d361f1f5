"""Who may call: tokens and the GitHub App.

- Any request but the App's needs `Authorization: token X` or `Bearer X`; any token is accepted
  unless a test names the good ones with `accept_tokens`; else 401 "Bad credentials".
- `POST /app/installations/{id}/access_tokens` for a GitHub App registered with `register_app`:
  the JWT's RS256 signature is checked against the App's public key, tokens last `token_lifetime`
  seconds and are refused with 401 "Bad credentials" once expired or revoked.
- `GET /repos/{o}/{r}/installation` (App JWT) names the App's first installation.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from testing.fakes.github.responses import error, iso
from testing.fakes.github.state import GitHubState

JWT_MAX_SECONDS = 600  # GitHub refuses an App JWT that expires more than ten minutes ahead


@dataclass(frozen=True)
class AppRegistration:
    app_id: str
    public_key: str  # PEM
    installations: frozenset[int]


@dataclass
class InstallationTokenRecord:
    token: str
    installation_id: int
    expires_at: int  # seconds since the epoch, as GitHub's `expires_at` (whole seconds)
    revoked: bool = False
    used: int = 0  # requests made with it

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires_at


class AppAuth(GitHubState):
    def reset(self) -> None:
        super().reset()
        self.token_lifetime = 3600  # seconds an installation token lasts
        with self._lock:
            self._tokens: frozenset[str] | None = None
            self._registered_app: AppRegistration | None = None
            self._installation_tokens: dict[str, InstallationTokenRecord] = {}

    def register_app(
        self, app_id: int | str, public_key_pem: str | bytes, installations: Iterable[int]
    ) -> None:
        """Act as GitHub for this App: its JWTs open `access_tokens` for these installations."""
        pem = public_key_pem.decode() if isinstance(public_key_pem, bytes) else public_key_pem
        with self._lock:
            self._registered_app = AppRegistration(str(app_id), pem, frozenset(installations))

    @property
    def installation_tokens(self) -> list[InstallationTokenRecord]:
        """The installation tokens issued, oldest first."""
        with self._lock:
            return list(self._installation_tokens.values())

    def revoke_installation_tokens(self) -> None:
        """Make every installation token issued so far answer 401, as a revocation does."""
        with self._lock:
            for record in self._installation_tokens.values():
                record.revoked = True

    def accept_tokens(self, *tokens: str) -> None:
        """Answer 401 "Bad credentials" to any other token (by default any token is accepted)."""
        with self._lock:
            self._tokens = frozenset(tokens)

    def _unauthorised(self, request: Request) -> Response | None:
        # GitHub takes both the legacy `token X` and `Bearer X` forms.
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("token", "bearer") or not token.strip():
            return error(401, "Requires authentication")
        token = token.strip()
        with self._lock:
            issued = self._installation_tokens.get(token)
            if issued is not None:
                if issued.revoked or issued.expired:
                    return error(401, "Bad credentials")
                issued.used += 1
                return None
            if token.startswith("ghs_"):  # an installation token GitHub never issued
                return error(401, "Bad credentials")
            if self._tokens is not None and token not in self._tokens:
                return error(401, "Bad credentials")
        return None

    def _not_app(self, request: Request) -> Response | None:
        """Why this request is not from the registered App: a bearer JWT signed with its key."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self._lock:
            app = self._registered_app
        if scheme.lower() != "bearer" or app is None:
            return error(401, "A JSON web token could not be decoded")
        try:
            claims = jwt.decode(
                token.strip(),
                app.public_key,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"], "verify_iss": False},
            )
        except jwt.ExpiredSignatureError:
            return error(
                401,
                "'Expiration time' claim ('exp') must be a numeric value representing the future "
                "time at which the assertion expires",
            )
        except jwt.ImmatureSignatureError:
            return error(
                401,
                "'Issued at' claim ('iat') must be an Integer representing the time "
                "that the assertion was issued",
            )
        except jwt.InvalidTokenError:
            return error(401, "A JSON web token could not be decoded")
        if claims["exp"] - time.time() > JWT_MAX_SECONDS:
            return error(401, "'Expiration time' claim ('exp') is too far in the future")
        if str(claims["iss"]) != app.app_id:
            return error(401, "Integration not found")
        return None

    async def _create_installation_token(self, request: Request, payload: Any) -> Response:
        installation_id = request.path_params["id"]
        with self._lock:
            app = self._registered_app
            if app is None or installation_id not in app.installations:
                return error(404, "Not Found")
            record = InstallationTokenRecord(
                token="ghs_" + secrets.token_hex(18),
                installation_id=installation_id,
                expires_at=int(time.time()) + self.token_lifetime,
            )
            self._installation_tokens[record.token] = record
        body = {
            "token": record.token,
            "expires_at": iso(record.expires_at),
            "permissions": {"statuses": "write", "issues": "write", "contents": "read"},
            "repository_selection": "all",
        }
        return JSONResponse(body, status_code=201)

    async def _repo_installation(self, request: Request, payload: Any) -> Response:
        with self._lock:
            app = self._registered_app
        if app is None or not app.installations:
            return error(404, "Not Found")
        return JSONResponse({"id": min(app.installations), "app_id": int(app.app_id)})
