"""Issue and pull request comments: `GET|POST /repos/{o}/{r}/issues/{n}/comments` (paginated with
`per_page`, `page` and a `Link` header) and `GET|PATCH /repos/{o}/{r}/issues/comments/{id}`."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from testing.fakes.github.responses import error, invalid, now
from testing.fakes.github.state import GitHubState

COMMENT_LIMIT = 65536


class Comments(GitHubState):
    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._comments: dict[int, dict[str, Any]] = {}

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

    def comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            return [
                _public(c)
                for c in self._comments.values()
                if (c["_repo"], c["_number"]) == (repo, number)
            ]

    async def _create_comment(self, request: Request, payload: Any) -> Response:
        params = request.path_params
        refused = _check_comment_body(payload)
        if refused is not None:
            return refused
        repo, number = f"{params['owner']}/{params['repo']}", params["number"]
        comment = self._new_comment(repo, number, payload["body"])
        with self._lock:
            self._comments[comment["id"]] = comment
        return JSONResponse(_public(comment), status_code=201)

    def _new_comment(self, repo: str, number: int, body: str) -> dict[str, Any]:
        comment_id, now_ = self._new_id(), now()
        return {
            "id": comment_id,
            "node_id": f"IC_{comment_id}",
            "url": f"{self.base_url}/repos/{repo}/issues/comments/{comment_id}",
            "html_url": f"https://github.com/{repo}/pull/{number}#issuecomment-{comment_id}",
            "issue_url": f"{self.base_url}/repos/{repo}/issues/{number}",
            "body": body,
            "user": self._user(),
            "created_at": now_,
            "updated_at": now_,
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
            return error(422, "Invalid request")
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

    async def _get_comment(self, request: Request, payload: Any) -> Response:
        comment = self._find_comment(request)
        return error(404, "Not Found") if comment is None else JSONResponse(_public(comment))

    async def _edit_comment(self, request: Request, payload: Any) -> Response:
        refused = _check_comment_body(payload)
        if refused is not None:
            return refused
        with self._lock:
            comment = self._find_comment(request, locked=True)
            if comment is None:
                return error(404, "Not Found")
            comment.update(body=payload["body"], updated_at=now())
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


def _check_comment_body(payload: Any) -> Response | None:
    if not isinstance(payload, dict):
        return error(400, "Problems parsing JSON")
    body = payload.get("body")
    if body is None:
        return invalid("IssueComment", "body", "missing_field", "body is missing")
    if not isinstance(body, str):
        return invalid("IssueComment", "body", "invalid", "body is not a string")
    if len(body) > COMMENT_LIMIT:
        message = f"body is too long (maximum is {COMMENT_LIMIT} characters)"
        return invalid("IssueComment", "body", "custom", message)
    return None


def _public(comment: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in comment.items() if not k.startswith("_")}
