"""`GET /repos/{o}/{r}`: any repository exists (public, default branch `main`, cloned from
https://github.com/{o}/{r}.git, which the tests rewrite to a local git repository). Anything the
fake does not implement answers GitHub's JSON 404."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from testing.fakes.github.responses import error
from testing.fakes.github.state import GitHubState


class Repos(GitHubState):
    async def _not_found(self, request: Request, payload: Any) -> Response:
        return error(404, "Not Found")

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
