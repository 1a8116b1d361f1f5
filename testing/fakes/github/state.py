"""The recording state every part of the fake shares: one lock, the ids GitHub hands out, the
log of every request with what the fake answered, and the faults a test injects.

Each concern (statuses.py, comments.py, hooks.py, auth.py, ...) is a subclass of `GitHubState`
that keeps its own data, forgotten by its `reset` (which calls the others' through `super()`);
app.py puts them together as `FakeGitHub`.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

Handler = Callable[[Request, Any], Awaitable[Response]]  # a request and its decoded JSON body
Check = Callable[[Request], Response | None]  # the refusal of a request, or None: go on


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
class Fault:
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


class GitHubState:
    """The shared state: the request log, the faults, ids, and the API root once served."""

    def __init__(self, *, login: str = "tingle-bot") -> None:
        self.login = login
        self._lock = threading.Lock()
        self._next_id = 1
        self._url: str | None = None  # set while served (app.py)
        self.reset()

    @property
    def base_url(self) -> str:
        """The API root, as PyGithub's `base_url` (no trailing slash)."""
        if self._url is None:
            raise RuntimeError("the fake GitHub server is not running")
        return self._url

    def reset(self) -> None:
        with self._lock:
            self._requests: list[RecordedRequest] = []
            self._faults: list[Fault] = []

    # --- faults -----------------------------------------------------------------------------------

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
            self._faults.append(Fault(n, status, method, path, fault_body, dict(headers or {})))

    def _fault(self, request: Request) -> Response | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(request.method, request.url.path):
                    fault.remaining -= 1
                    return JSONResponse(fault.body, fault.status, headers=fault.headers)
        return None

    # --- the request log --------------------------------------------------------------------------

    def reset_requests(self) -> None:
        """Forget the requests recorded so far (and nothing else)."""
        with self._lock:
            self._requests = []

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """The recorded requests with this method whose path matches the glob `path`."""
        return [
            r for r in self.requests if r.method == method and fnmatch.fnmatchcase(r.path, path)
        ]

    def _record(self, request: Request, body: bytes, payload: Any, status: int) -> None:
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.url.path,
                    query=request.url.query,
                    headers={k.lower(): v for k, v in request.headers.items()},
                    body=body,
                    json=payload,
                    status=status,
                )
            )

    # --- what every part uses ---------------------------------------------------------------------

    def _new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def _user(self) -> dict[str, Any]:
        return {"login": self.login, "id": 1, "type": "Bot", "url": f"{self.base_url}/users/x"}
