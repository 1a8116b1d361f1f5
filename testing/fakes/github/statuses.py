"""Commit statuses: `POST /repos/{o}/{r}/statuses/{sha}` and
`GET /repos/{o}/{r}/commits/{ref}/statuses`, with GitHub's validation rules and limits."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from testing.fakes.github.responses import error, invalid, now
from testing.fakes.github.state import GitHubState

STATES = ("error", "failure", "pending", "success")
DESCRIPTION_LIMIT = 140
STATUSES_PER_SHA_AND_CONTEXT = 1000  # GitHub's limit; a test may lower `status_limit`
_HEX = frozenset("0123456789abcdefABCDEF")


class Statuses(GitHubState):
    def reset(self) -> None:
        super().reset()
        self.status_limit = STATUSES_PER_SHA_AND_CONTEXT
        with self._lock:
            self._statuses: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def statuses(self, repo: str, sha: str) -> list[dict[str, Any]]:
        """The statuses created for `repo` at `sha`, in arrival order."""
        with self._lock:
            return [dict(s) for s in self._statuses.get((repo, sha.lower()), [])]

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

    async def _create_status(self, request: Request, payload: Any) -> Response:
        params = request.path_params
        repo, sha = f"{params['owner']}/{params['repo']}", params["sha"]
        if not isinstance(payload, dict):
            return error(400, "Problems parsing JSON")
        if not (4 <= len(sha) <= 40 and _HEX.issuperset(sha)):
            return error(422, f"No commit found for SHA: {sha}")
        refused = _invalid_status(payload)
        if refused is not None:
            return refused
        now_, status_id = now(), self._new_id()
        context = payload.get("context", "default")
        status = {
            "url": f"{self.base_url}/repos/{repo}/statuses/{sha}",
            "id": status_id,
            "node_id": f"SC_{status_id}",
            "state": payload["state"],
            "description": payload.get("description"),
            "target_url": payload.get("target_url"),
            "context": context,
            "created_at": now_,
            "updated_at": now_,
            "creator": self._user(),
        }
        with self._lock:
            created = self._statuses.setdefault((repo, sha.lower()), [])
            if sum(s["context"] == context for s in created) >= self.status_limit:
                message = "This SHA and context has reached the maximum number of statuses."
                return invalid("Status", "context", "custom", message)
            created.append(status)
        return JSONResponse(status, status_code=201)

    async def _list_statuses(self, request: Request, payload: Any) -> Response:
        params = request.path_params
        newest_first = self.statuses(f"{params['owner']}/{params['repo']}", params["ref"])[::-1]
        return JSONResponse(newest_first)


def _invalid_status(payload: dict[str, Any]) -> Response | None:
    """GitHub's 422 for a status it would not create, or None."""
    state, description = payload.get("state"), payload.get("description")
    target_url, context = payload.get("target_url"), payload.get("context", "default")
    if state not in STATES:
        return invalid("Status", "state", "custom", "state is not included in the list")
    for field, value in (("description", description), ("target_url", target_url)):
        if value is not None and not isinstance(value, str):
            return invalid("Status", field, "invalid", f"{field} is not a string or null")
    if not isinstance(context, str):
        return invalid("Status", "context", "invalid", "context is not a string")
    if description is not None and len(description) > DESCRIPTION_LIMIT:
        message = f"description is too long (maximum is {DESCRIPTION_LIMIT} characters)"
        return invalid("Status", "description", "custom", message)
    return None
