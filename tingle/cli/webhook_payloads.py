"""The webhook payloads GitHub would send for a push or a pull request of a local repository,
shaped as GitHub's (`push`: ref, before, after, head_commit, repository; `pull_request`: action,
number, pull_request.head/base with their repositories). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tingle.cli.local_git import NULL_SHA, LocalCommit


@dataclass(frozen=True)
class LocalRepository:
    full_name: str  # local/<name>
    clone_url: str  # the bare copy's file:// URL (Tingle derives its own from full_name)
    default_branch: str


def _repository(repo: LocalRepository) -> dict[str, Any]:
    owner, name = repo.full_name.split("/", 1)
    return {
        "name": name,
        "full_name": repo.full_name,
        "private": False,
        "owner": {"login": owner, "name": owner, "type": "User"},
        "html_url": repo.clone_url.removesuffix(".git"),
        "clone_url": repo.clone_url,
        "default_branch": repo.default_branch,
        "master_branch": repo.default_branch,
    }


def push_payload(
    repo: LocalRepository, branch: str, head: LocalCommit, before: str
) -> dict[str, Any]:
    author = {"name": head.author_name, "email": head.author_email}
    return {
        "ref": f"refs/heads/{branch}",
        "before": before,
        "after": head.sha,
        "created": before == NULL_SHA,
        "deleted": False,
        "forced": True,
        "compare": None,
        "commits": [],
        "head_commit": {
            "id": head.sha,
            "tree_id": None,
            "distinct": True,
            "message": head.message,
            "timestamp": head.timestamp,
            "url": f"{_repository(repo)['html_url']}/commit/{head.sha}",
            "author": author,
            "committer": author,
        },
        "repository": _repository(repo),
        "pusher": author,
        "sender": {"login": head.author_name, "type": "User"},
    }


def pull_request_payload(
    repo: LocalRepository, branch: str, head: LocalCommit, *, number: int, base_sha: str
) -> dict[str, Any]:
    repository = _repository(repo)
    user = {"login": head.author_name, "type": "User"}
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "state": "open",
            "title": head.message.splitlines()[0] if head.message else branch,
            "user": user,
            "html_url": f"{repository['html_url']}/pull/{number}",
            "head": {"ref": branch, "sha": head.sha, "repo": repository, "user": user},
            "base": {
                "ref": repo.default_branch,
                "sha": base_sha,
                "repo": repository,
                "user": user,
            },
        },
        "repository": repository,
        "sender": user,
    }
