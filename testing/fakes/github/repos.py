"""`GET /repos/{o}/{r}`: any repository exists (public, default branch `main`, cloned from
https://github.com/{o}/{r}.git, which the tests rewrite to a local git repository). Anything the
fake does not implement answers GitHub's JSON 404.

`GET /repos/{o}/{r}/git/ref/heads/{branch}` ("Get a reference"): the branch's head as GitHub
answers it, `{"ref", "node_id", "url", "object": {"type": "commit", "sha", "url"}}`, read from
the real git repository registered with `add_git_repository` (what a push there made the branch
point at); 404 "Not Found" for a branch (or a repository) it does not have."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from testing.fakes.github.responses import error
from testing.fakes.github.state import GitHubState


class Repos(GitHubState):
    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._git_repositories: dict[str, Path] = {}

    def add_git_repository(self, full_name: str, path: Path) -> None:
        """Serve the branches of `full_name` from the git repository at `path`."""
        with self._lock:
            self._git_repositories[full_name.lower()] = path

    def branch_head(self, full_name: str, branch: str) -> str | None:
        with self._lock:
            path = self._git_repositories.get(full_name.lower())
        if path is None or branch.startswith("-"):
            return None
        found = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}"],
            cwd=path,
            capture_output=True,
            text=True,
            check=False,
        )
        return found.stdout.strip() or None

    async def _get_branch_ref(self, request: Request, payload: Any) -> Response:
        owner, name = request.path_params["owner"], request.path_params["repo"]
        branch = request.path_params["branch"]
        sha = self.branch_head(f"{owner}/{name}", branch)
        if sha is None:
            return error(404, "Not Found")
        repo_url = f"{self.base_url}/repos/{owner}/{name}"
        return JSONResponse(
            {
                "ref": f"refs/heads/{branch}",
                "node_id": f"REF_{abs(hash((owner, name, branch))) % 10**9}",
                "url": f"{repo_url}/git/refs/heads/{branch}",
                "object": {"type": "commit", "sha": sha, "url": f"{repo_url}/git/commits/{sha}"},
            }
        )

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
