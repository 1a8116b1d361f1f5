"""A small fake of GitHub's REST API on real HTTP, faithful to the parts Tingle uses.

It runs a starlette app under uvicorn in a background thread on 127.0.0.1 and a free port, so the
code under test uses its real HTTP stack (PyGithub, requests, urllib3 retries) against it. Every
request is recorded. Implemented, with GitHub's validation rules and error shapes:

- `POST /repos/{o}/{r}/statuses/{sha}`, `GET /repos/{o}/{r}/commits/{ref}/statuses`
- `GET /repos/{o}/{r}` (any repository exists)
- `GET|POST /repos/{o}/{r}/issues/{n}/comments` (paginated with `per_page`, `page` and a `Link`
  header), `GET|PATCH /repos/{o}/{r}/issues/comments/{id}`
- `POST /app/installations/{id}/access_tokens` for a GitHub App registered with `register_app`:
  the JWT's RS256 signature is checked against the App's public key, tokens last `token_lifetime`
  seconds and are refused with 401 "Bad credentials" once expired or revoked.
- Rate limits: every answer carries `X-RateLimit-*` headers counting down from `rate_limit`;
  at zero GitHub's primary rate-limit 403.
- Webhook deliveries of repository hooks and the App's hook: `GET .../deliveries` (newest first,
  `per_page` and `cursor`, a `Link` header) and `POST .../deliveries/{id}/attempts`, which answers
  202 and then really re-sends the delivery, signed, to the URL set with `set_hook_target`, as
  GitHub does. `deliver` sends a new delivery, `add_delivery` records one as if it had been sent.
  `GET /repos/{o}/{r}/installation` (App JWT) names the App's first installation.

Anything else answers GitHub's JSON 404. `fail_next` injects faults.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json
import math
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

STATES = ("error", "failure", "pending", "success")
DESCRIPTION_LIMIT = 140
COMMENT_LIMIT = 65536
STATUSES_PER_SHA_AND_CONTEXT = 1000  # GitHub's limit; a test may lower `status_limit`
RATE_LIMIT = 5000  # requests per hour for a token; a test may lower `rate_limit_remaining`
JWT_MAX_SECONDS = 600  # GitHub refuses an App JWT that expires more than ten minutes ahead
_DOCS = "https://docs.github.com/rest"
_HEX = frozenset("0123456789abcdefABCDEF")

Handler = Callable[[Request, Any], Awaitable[Response]]
Check = Callable[[Request], Response | None]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    json: Any  # the decoded JSON body, None when empty or not JSON
    status: int  # what the fake answered


@dataclass
class _Fault:
    remaining: int
    status: int
    method: str | None
    path: str | None
    body: Any
    headers: dict[str, str]

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or fnmatch.fnmatchcase(path, self.path)
        )


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


HookKey = tuple[str, int] | None  # (repository, hook id), or None for the GitHub App's hook


@dataclass(frozen=True)
class HookTarget:
    url: str  # where the hook posts: Tingle's `/webhooks/github`
    secret: str  # the hook's secret, for X-Hub-Signature-256


@dataclass
class HookDelivery:
    """One attempt at delivering an event, as GitHub keeps it for its deliveries API."""

    id: int
    guid: str  # X-GitHub-Delivery, the same for every attempt of one event
    event: str
    action: str | None
    body: bytes
    hook: HookKey
    status_code: int = 0  # 0: no answer (connection refused, timeout)
    redelivery: bool = False
    delivered_at: float = 0.0  # seconds since the epoch

    def summary(self) -> dict[str, Any]:
        ok = 200 <= self.status_code < 300
        return {
            "id": self.id,
            "guid": self.guid,
            "delivered_at": _iso(self.delivered_at),
            "redelivery": self.redelivery,
            "duration": 0.05,
            "status": "OK" if ok else f"Invalid HTTP Response: {self.status_code}",
            "status_code": self.status_code,
            "event": self.event,
            "action": self.action,
            "installation_id": None,
            "repository_id": None,
        }


def _now() -> str:
    return _iso(time.time())


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, message: str, errors: list[dict[str, str]] | None = None) -> Response:
    body: dict[str, Any] = {"message": message, "documentation_url": _DOCS}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


def _invalid(resource: str, field: str, code: str, message: str) -> Response:
    error = {"resource": resource, "field": field, "code": code, "message": message}
    return _error(422, "Validation Failed", [error])


class FakeGitHub:
    """Use as a context manager: `with FakeGitHub() as fake: ... fake.base_url ...`."""

    def __init__(self, *, login: str = "tingle-bot") -> None:
        self.login = login
        self._lock = threading.Lock()
        self._next_id = 1
        self.reset()
        self._app = Starlette(routes=self._routes())
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))  # the kernel picks a free port: no race with others
        config = uvicorn.Config(self._app, lifespan="off", log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake GitHub server did not start")
            time.sleep(0.005)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> FakeGitHub:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The API root, as PyGithub's `base_url` (no trailing slash)."""
        if self._socket is None:
            raise RuntimeError("the fake GitHub server is not running")
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}"

    # --- test controls and inspection ----------------------------------------------------------

    def reset(self) -> None:
        """Forget every request, status, comment, fault, token rule and App; restore the limits."""
        self.status_limit = STATUSES_PER_SHA_AND_CONTEXT
        self.token_lifetime = 3600  # seconds an installation token lasts
        with self._lock:
            self._requests: list[RecordedRequest] = []
            self._statuses: dict[tuple[str, str], list[dict[str, Any]]] = {}
            self._comments: dict[int, dict[str, Any]] = {}
            self._faults: list[_Fault] = []
            self._tokens: frozenset[str] | None = None
            self._registered_app: AppRegistration | None = None
            self._installation_tokens: dict[str, InstallationTokenRecord] = {}
            self.rate_limit_remaining = RATE_LIMIT
            self.rate_limit_reset = int(time.time()) + 3600
            self._hook_deliveries: list[HookDelivery] = []
            self._hook_targets: dict[HookKey, HookTarget] = {}
            self._resending = 0

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

    def fail_next(
        self,
        n: int = 1,
        status: int = 502,
        *,
        method: str | None = None,
        path: str | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next `n` requests matching `method` and the glob `path` with `status`."""
        fault_body = {"message": f"fault injected: {status}"} if body is None else body
        with self._lock:
            self._faults.append(_Fault(n, status, method, path, fault_body, dict(headers or {})))

    # --- webhook deliveries ----------------------------------------------------------------------

    def set_hook_target(self, url: str, secret: str, hook: HookKey = None) -> None:
        """Where `hook` (a repository's `(repo, hook_id)`, or None: the App's) posts deliveries."""
        with self._lock:
            self._hook_targets[hook] = HookTarget(url, secret)

    def add_delivery(
        self,
        guid: str,
        event: str,
        status_code: int,
        payload: Mapping[str, Any] | bytes,
        *,
        hook: HookKey = None,
        age: float = 0.0,
        redelivery: bool = False,
    ) -> HookDelivery:
        """Record a delivery attempt made `age` seconds ago that got `status_code`, as if sent."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        action = payload.get("action") if isinstance(payload, Mapping) else None
        delivery = HookDelivery(
            id=self._new_id(), guid=guid, event=event, body=body, hook=hook,
            action=action if isinstance(action, str) else None, status_code=status_code,
            redelivery=redelivery, delivered_at=time.time() - age,
        )  # fmt: skip
        with self._lock:
            self._hook_deliveries.append(delivery)
        return delivery

    def deliver(
        self,
        event: str,
        payload: Mapping[str, Any] | bytes,
        *,
        hook: HookKey = None,
        guid: str | None = None,
        timeout: float = 10.0,
    ) -> HookDelivery:
        """Send a new delivery to the hook's target now, and record what came of it."""
        delivery = self.add_delivery(guid or str(uuid.uuid4()), event, 0, payload, hook=hook)
        target = self._hook_target(hook)
        if target is not None:
            try:
                response = httpx.post(
                    target.url, content=delivery.body, headers=_hook_headers(delivery, target),
                    timeout=timeout,
                )  # fmt: skip
                delivery.status_code = response.status_code
            except httpx.TransportError:
                delivery.status_code = 0
        return delivery

    def hook_deliveries(self, hook: HookKey = None) -> list[HookDelivery]:
        """Every attempt recorded for `hook`, oldest first."""
        with self._lock:
            return [d for d in self._hook_deliveries if d.hook == hook]

    def wait_for_redeliveries(self, timeout: float = 10.0) -> None:
        """Wait until every redelivery asked for so far has been sent and its answer recorded."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self._resending == 0:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"redeliveries still being sent after {timeout}s")
            time.sleep(0.01)

    def _hook_target(self, hook: HookKey) -> HookTarget | None:
        with self._lock:
            return self._hook_targets.get(hook)

    def reset_requests(self) -> None:
        """Forget the requests recorded so far (and nothing else)."""
        with self._lock:
            self._requests = []

    def add_comment(self, repo: str, number: int, body: str, login: str = "octocat") -> int:
        """A comment made by someone else (by default a person), as if through GitHub's UI."""
        comment = self._new_comment(repo, number, body)
        comment["user"] = {**comment["user"], "login": login, "type": "User"}
        with self._lock:
            self._comments[comment["id"]] = comment
        return int(comment["id"])

    def delete_comment(self, comment_id: int) -> None:
        """Delete a comment, as a person can on GitHub."""
        with self._lock:
            del self._comments[comment_id]

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """The recorded requests with this method whose path matches the glob `path`."""
        return [
            r for r in self.requests if r.method == method and fnmatch.fnmatchcase(r.path, path)
        ]

    def statuses(self, repo: str, sha: str) -> list[dict[str, Any]]:
        """The statuses created for `repo` at `sha`, in arrival order."""
        with self._lock:
            return [dict(s) for s in self._statuses.get((repo, sha.lower()), [])]

    def comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            return [
                _public(c)
                for c in self._comments.values()
                if (c["_repo"], c["_number"]) == (repo, number)
            ]

    def wait_for_status(
        self, repo: str, sha: str, context: str, state: str, timeout: float = 10.0
    ) -> dict[str, Any]:
        """The first status with this context and state, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for status in self.statuses(repo, sha):
                if (status["context"], status["state"]) == (context, state):
                    return status
            if time.monotonic() > deadline:
                seen = [(s["context"], s["state"]) for s in self.statuses(repo, sha)]
                raise AssertionError(
                    f"no {state!r} status for context {context!r} on {repo}@{sha} within "
                    f"{timeout}s; seen: {seen}"
                )
            time.sleep(0.02)

    # --- HTTP -----------------------------------------------------------------------------------

    def _routes(self) -> list[BaseRoute]:
        def route(
            path: str, handler: Handler, methods: list[str], auth: Check | None = None
        ) -> Route:
            return Route(path, self._endpoint(handler, auth or self._unauthorised), methods=methods)

        repo = "/repos/{owner}/{repo}"
        api: list[BaseRoute] = [
            route(repo + "/statuses/{sha}", self._create_status, ["POST"]),
            route(repo + "/commits/{ref}/statuses", self._list_statuses, ["GET"]),
            route(repo, self._get_repo, ["GET"]),
            route(repo + "/issues/{number:int}/comments", self._create_comment, ["POST"]),
            route(repo + "/issues/{number:int}/comments", self._list_comments, ["GET"]),
            route(repo + "/issues/comments/{id:int}", self._get_comment, ["GET"]),
            route(repo + "/issues/comments/{id:int}", self._edit_comment, ["PATCH"]),
            route(
                "/app/installations/{id:int}/access_tokens",
                self._create_installation_token,
                ["POST"],
                auth=self._not_app,
            ),
            route(repo + "/installation", self._repo_installation, ["GET"], auth=self._not_app),
            route(repo + "/hooks/{hook_id:int}/deliveries", self._list_deliveries, ["GET"]),
            route(
                repo + "/hooks/{hook_id:int}/deliveries/{delivery_id:int}/attempts",
                self._redeliver,
                ["POST"],
            ),
            route("/app/hook/deliveries", self._list_deliveries, ["GET"], auth=self._not_app),
            route(
                "/app/hook/deliveries/{delivery_id:int}/attempts",
                self._redeliver,
                ["POST"],
                auth=self._not_app,
            ),
        ]
        # GitHub Enterprise serves the same API under /api/v3.
        not_found = route(
            "/{path:path}", self._not_found, ["GET", "POST", "PATCH", "PUT", "DELETE"]
        )
        return [*api, Mount("/api/v3", routes=[*api, not_found]), not_found]

    def _endpoint(self, handler: Handler, auth: Check) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            try:
                payload = json.loads(body) if body else None
                bad_json = False
            except ValueError:
                payload, bad_json = None, True
            response = self._fault(request) or auth(request)
            if response is None:
                response = self._rate_limited()
            if response is None:
                response = (
                    _error(400, "Problems parsing JSON")
                    if bad_json
                    else await handler(request, payload)
                )
            for name, value in self._rate_limit_headers().items():
                response.headers.setdefault(name, value)
            with self._lock:
                self._requests.append(
                    RecordedRequest(
                        method=request.method,
                        path=request.url.path,
                        query=request.url.query,
                        headers={k.lower(): v for k, v in request.headers.items()},
                        body=body,
                        json=payload,
                        status=response.status_code,
                    )
                )
            return response

        return endpoint

    def _fault(self, request: Request) -> Response | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(request.method, request.url.path):
                    fault.remaining -= 1
                    return JSONResponse(fault.body, fault.status, headers=fault.headers)
        return None

    def _unauthorised(self, request: Request) -> Response | None:
        # GitHub takes both the legacy `token X` and `Bearer X` forms.
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("token", "bearer") or not token.strip():
            return _error(401, "Requires authentication")
        token = token.strip()
        with self._lock:
            issued = self._installation_tokens.get(token)
            if issued is not None:
                if issued.revoked or issued.expired:
                    return _error(401, "Bad credentials")
                issued.used += 1
                return None
            if token.startswith("ghs_"):  # an installation token GitHub never issued
                return _error(401, "Bad credentials")
            if self._tokens is not None and token not in self._tokens:
                return _error(401, "Bad credentials")
        return None

    def _not_app(self, request: Request) -> Response | None:
        """Why this request is not from the registered App: a bearer JWT signed with its key."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self._lock:
            app = self._registered_app
        if scheme.lower() != "bearer" or app is None:
            return _error(401, "A JSON web token could not be decoded")
        try:
            claims = jwt.decode(
                token.strip(),
                app.public_key,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"], "verify_iss": False},
            )
        except jwt.ExpiredSignatureError:
            return _error(
                401,
                "'Expiration time' claim ('exp') must be a numeric value representing the future "
                "time at which the assertion expires",
            )
        except jwt.ImmatureSignatureError:
            return _error(
                401,
                "'Issued at' claim ('iat') must be an Integer representing the time "
                "that the assertion was issued",
            )
        except jwt.InvalidTokenError:
            return _error(401, "A JSON web token could not be decoded")
        if claims["exp"] - time.time() > JWT_MAX_SECONDS:
            return _error(401, "'Expiration time' claim ('exp') is too far in the future")
        if str(claims["iss"]) != app.app_id:
            return _error(401, "Integration not found")
        return None

    def _rate_limited(self) -> Response | None:
        with self._lock:
            if self.rate_limit_remaining > 0:
                self.rate_limit_remaining -= 1
                return None
        return _error(403, "API rate limit exceeded for installation. Wait for the reset.")

    def _rate_limit_headers(self) -> dict[str, str]:
        with self._lock:
            remaining, reset = self.rate_limit_remaining, self.rate_limit_reset
        return {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Used": str(max(0, RATE_LIMIT - remaining)),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Resource": "core",
        }

    def _new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def _user(self) -> dict[str, Any]:
        return {"login": self.login, "id": 1, "type": "Bot", "url": f"{self.base_url}/users/x"}

    async def _not_found(self, request: Request, payload: Any) -> Response:
        return _error(404, "Not Found")

    async def _get_repo(self, request: Request, payload: Any) -> Response:
        owner, name = request.path_params["owner"], request.path_params["repo"]
        return JSONResponse(
            {
                "id": abs(hash((owner, name))) % 10**9,
                "name": name,
                "full_name": f"{owner}/{name}",
                "owner": {"login": owner, "type": "User"},
                "private": False,
                "default_branch": "main",
                "url": f"{self.base_url}/repos/{owner}/{name}",
                "html_url": f"https://github.com/{owner}/{name}",
                "clone_url": f"https://github.com/{owner}/{name}.git",
            }
        )

    async def _create_status(self, request: Request, payload: Any) -> Response:
        params = request.path_params
        repo, sha = f"{params['owner']}/{params['repo']}", params["sha"]
        if not isinstance(payload, dict):
            return _error(400, "Problems parsing JSON")
        if not (4 <= len(sha) <= 40 and _HEX.issuperset(sha)):
            return _error(422, f"No commit found for SHA: {sha}")
        state, description = payload.get("state"), payload.get("description")
        target_url, context = payload.get("target_url"), payload.get("context", "default")
        if state not in STATES:
            return _invalid("Status", "state", "custom", "state is not included in the list")
        for field, value in (("description", description), ("target_url", target_url)):
            if value is not None and not isinstance(value, str):
                return _invalid("Status", field, "invalid", f"{field} is not a string or null")
        if not isinstance(context, str):
            return _invalid("Status", "context", "invalid", "context is not a string")
        if description is not None and len(description) > DESCRIPTION_LIMIT:
            message = f"description is too long (maximum is {DESCRIPTION_LIMIT} characters)"
            return _invalid("Status", "description", "custom", message)
        now, status_id = _now(), self._new_id()
        status = {
            "url": f"{self.base_url}/repos/{repo}/statuses/{sha}",
            "id": status_id,
            "node_id": f"SC_{status_id}",
            "state": state,
            "description": description,
            "target_url": target_url,
            "context": context,
            "created_at": now,
            "updated_at": now,
            "creator": self._user(),
        }
        with self._lock:
            created = self._statuses.setdefault((repo, sha.lower()), [])
            if sum(s["context"] == context for s in created) >= self.status_limit:
                message = "This SHA and context has reached the maximum number of statuses."
                return _invalid("Status", "context", "custom", message)
            created.append(status)
        return JSONResponse(status, status_code=201)

    async def _list_statuses(self, request: Request, payload: Any) -> Response:
        params = request.path_params
        newest_first = self.statuses(f"{params['owner']}/{params['repo']}", params["ref"])[::-1]
        return JSONResponse(newest_first)

    async def _create_comment(self, request: Request, payload: Any) -> Response:
        params = request.path_params
        error = _check_comment_body(payload)
        if error is not None:
            return error
        repo, number = f"{params['owner']}/{params['repo']}", params["number"]
        comment = self._new_comment(repo, number, payload["body"])
        with self._lock:
            self._comments[comment["id"]] = comment
        return JSONResponse(_public(comment), status_code=201)

    def _new_comment(self, repo: str, number: int, body: str) -> dict[str, Any]:
        comment_id, now = self._new_id(), _now()
        return {
            "id": comment_id,
            "node_id": f"IC_{comment_id}",
            "url": f"{self.base_url}/repos/{repo}/issues/comments/{comment_id}",
            "html_url": f"https://github.com/{repo}/pull/{number}#issuecomment-{comment_id}",
            "issue_url": f"{self.base_url}/repos/{repo}/issues/{number}",
            "body": body,
            "user": self._user(),
            "created_at": now,
            "updated_at": now,
            "author_association": "NONE",
            "_repo": repo,
            "_number": number,
        }

    async def _list_comments(self, request: Request, payload: Any) -> Response:
        params = request.path_params
        found = self.comments(f"{params['owner']}/{params['repo']}", params["number"])
        try:
            per_page = min(100, max(1, int(request.query_params.get("per_page", 30))))
            page = max(1, int(request.query_params.get("page", 1)))
        except ValueError:
            return _error(422, "Invalid request")
        last = max(1, math.ceil(len(found) / per_page))
        response = JSONResponse(found[(page - 1) * per_page : page * per_page])
        links = {"prev": page - 1, "next": page + 1, "first": 1, "last": last}
        shown = {
            rel: number
            for rel, number in links.items()
            if (rel in ("prev", "first") and page > 1) or (rel in ("next", "last") and page < last)
        }
        if shown:
            base = str(request.url.replace(query=""))
            response.headers["Link"] = ", ".join(
                f'<{base}?{urlencode({"per_page": per_page, "page": number})}>; rel="{rel}"'
                for rel, number in shown.items()
            )
        return response

    async def _create_installation_token(self, request: Request, payload: Any) -> Response:
        installation_id = request.path_params["id"]
        with self._lock:
            app = self._registered_app
            if app is None or installation_id not in app.installations:
                return _error(404, "Not Found")
            record = InstallationTokenRecord(
                token="ghs_" + secrets.token_hex(18),
                installation_id=installation_id,
                expires_at=int(time.time()) + self.token_lifetime,
            )
            self._installation_tokens[record.token] = record
        body = {
            "token": record.token,
            "expires_at": _iso(record.expires_at),
            "permissions": {"statuses": "write", "issues": "write", "contents": "read"},
            "repository_selection": "all",
        }
        return JSONResponse(body, status_code=201)

    async def _repo_installation(self, request: Request, payload: Any) -> Response:
        with self._lock:
            app = self._registered_app
        if app is None or not app.installations:
            return _error(404, "Not Found")
        return JSONResponse({"id": min(app.installations), "app_id": int(app.app_id)})

    async def _list_deliveries(self, request: Request, payload: Any) -> Response:
        hook = _hook_key(request)
        newest_first = sorted(
            self.hook_deliveries(hook), key=lambda d: (d.delivered_at, d.id), reverse=True
        )
        try:
            per_page = min(100, max(1, int(request.query_params.get("per_page", 30))))
            cursor = request.query_params.get("cursor")
            after = int(cursor.removeprefix("v1_")) if cursor else None
        except ValueError:
            return _error(422, "Invalid request")
        start = 0
        if after is not None:  # the page after the delivery the cursor names
            start = next((i + 1 for i, d in enumerate(newest_first) if d.id == after), 0)
        page = newest_first[start : start + per_page]
        response = JSONResponse([d.summary() for d in page])
        if start + per_page < len(newest_first):
            query = urlencode({"per_page": per_page, "cursor": f"v1_{page[-1].id}"})
            response.headers["Link"] = f'<{request.url.replace(query=query)}>; rel="next"'
        return response

    async def _redeliver(self, request: Request, payload: Any) -> Response:
        hook, delivery_id = _hook_key(request), request.path_params["delivery_id"]
        original = next((d for d in self.hook_deliveries(hook) if d.id == delivery_id), None)
        if original is None:
            return _error(404, "Not Found")
        with self._lock:
            self._resending += 1
        # GitHub answers at once and delivers afterwards, with the same guid.
        return JSONResponse({}, status_code=202, background=BackgroundTask(self._resend, original))

    async def _resend(self, original: HookDelivery) -> None:
        try:
            again = HookDelivery(
                id=self._new_id(), guid=original.guid, event=original.event,
                action=original.action, body=original.body, hook=original.hook,
                redelivery=True, delivered_at=time.time(),
            )  # fmt: skip
            target = self._hook_target(original.hook)
            if target is not None:
                try:
                    async with httpx.AsyncClient(timeout=10.0) as client:
                        response = await client.post(
                            target.url, content=again.body, headers=_hook_headers(again, target)
                        )
                    again.status_code = response.status_code
                except httpx.TransportError:
                    again.status_code = 0
            with self._lock:
                self._hook_deliveries.append(again)
        finally:
            with self._lock:
                self._resending -= 1

    async def _get_comment(self, request: Request, payload: Any) -> Response:
        comment = self._find_comment(request)
        return _error(404, "Not Found") if comment is None else JSONResponse(_public(comment))

    async def _edit_comment(self, request: Request, payload: Any) -> Response:
        error = _check_comment_body(payload)
        if error is not None:
            return error
        with self._lock:
            comment = self._find_comment(request, locked=True)
            if comment is None:
                return _error(404, "Not Found")
            comment.update(body=payload["body"], updated_at=_now())
            return JSONResponse(_public(comment))

    def _find_comment(self, request: Request, *, locked: bool = False) -> dict[str, Any] | None:
        params = request.path_params
        if not locked:
            with self._lock:
                return self._find_comment(request, locked=True)
        comment = self._comments.get(params["id"])
        if comment is None or comment["_repo"] != f"{params['owner']}/{params['repo']}":
            return None
        return comment


def _hook_key(request: Request) -> HookKey:
    params = request.path_params
    if "hook_id" not in params:
        return None
    return f"{params['owner']}/{params['repo']}", int(params["hook_id"])


def _hook_headers(delivery: HookDelivery, target: HookTarget) -> dict[str, str]:
    digest = hmac.new(target.secret.encode(), delivery.body, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": delivery.event,
        "X-GitHub-Delivery": delivery.guid,
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/fake",
    }
    if delivery.hook is not None:
        headers["X-GitHub-Hook-ID"] = str(delivery.hook[1])
    return headers


def _check_comment_body(payload: Any) -> Response | None:
    if not isinstance(payload, dict):
        return _error(400, "Problems parsing JSON")
    body = payload.get("body")
    if body is None:
        return _invalid("IssueComment", "body", "missing_field", "body is missing")
    if not isinstance(body, str):
        return _invalid("IssueComment", "body", "invalid", "body is not a string")
    if len(body) > COMMENT_LIMIT:
        message = f"body is too long (maximum is {COMMENT_LIMIT} characters)"
        return _invalid("IssueComment", "body", "custom", message)
    return None


def _public(comment: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in comment.items() if not k.startswith("_")}
