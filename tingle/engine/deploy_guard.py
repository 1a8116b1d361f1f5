"""A deploy runs only while its commit is still the head of the branch it deploys.

Asked of GitHub just before deploying, so an old push replayed after a newer one (past the
admission's replay window), or a build that finished after a newer push, never puts old code on
the scheduler. When GitHub cannot be asked (no credentials, no answer, a 5xx), the deploy fails
closed: the step raises an infrastructure error (status `error`) and deploys nothing.

The GitHub client is synchronous (PyGithub): it is called in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from tingle.build import Build
from tingle.errors import DeliveryError
from tingle.forge.auth import GitHubClients
from tingle.forge.github import GitHubError


class BranchHeads(Protocol):
    async def head(self, build: Build) -> str | None:
        """The sha the build's branch points at now; None: no such branch. Raises GitHubError."""
        ...


class GitHubBranchHeads:
    """Branch heads from GitHub, through the client of the build's App installation (or token)."""

    def __init__(self, clients: GitHubClients) -> None:
        self._clients = clients

    async def head(self, build: Build) -> str | None:
        client = self._clients.for_build(build.installation_id)
        return await asyncio.to_thread(client.branch_head, build.repo, build.branch or "")


async def ensure_still_head(heads: BranchHeads | None, build: Build) -> str:
    """The build's branch, when its sha is still that branch's head; else DeliveryError: the
    repository's (the branch moved on, or is gone) or the infrastructure's (GitHub not asked)."""
    branch = build.branch
    if build.event != "push" or not branch:
        raise DeliveryError("only a push to a branch deploys")
    if heads is None:
        raise DeliveryError(
            f"cannot check that {build.sha[:12]} is still the head of {branch}: no GitHub "
            "credentials (TINGLE_GITHUB_TOKEN or a GitHub App); not deploying",
            infrastructure=True,
        )
    try:
        head = await heads.head(build)
    except GitHubError as exc:
        raise DeliveryError(
            f"cannot check that {build.sha[:12]} is still the head of {branch}: {exc}; "
            "not deploying",
            infrastructure=True,
        ) from exc
    if head is None:
        raise DeliveryError(
            f"{branch} is no branch of {build.repo} on GitHub (deleted, or not visible to "
            "Tingle): not deploying"
        )
    if head.lower() != build.sha.lower():
        raise DeliveryError(f"{branch} has moved on to {head}: not deploying an older commit")
    return branch
