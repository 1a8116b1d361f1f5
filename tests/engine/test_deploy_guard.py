"""The deploy's last check: its commit must still be the head of its branch, and when GitHub
cannot say, nothing is deployed (an infrastructure error: status `error`)."""

from __future__ import annotations

import pytest

from tingle.build import Build
from tingle.engine.deploy_guard import ensure_still_head
from tingle.errors import DeliveryError
from tingle.forge.github import GitHubError

SHA, NEWER = "a" * 40, "b" * 40
BUILD = Build(
    id="1", repo="acme/reports", sha=SHA, ref="refs/heads/main", event="push",
    clone_url="https://github.com/acme/reports.git", branch="main",
)  # fmt: skip


class Heads:
    def __init__(self, answer: str | GitHubError | None) -> None:
        self.answer = answer

    async def head(self, build: Build) -> str | None:
        if isinstance(self.answer, GitHubError):
            raise self.answer
        return self.answer


async def test_the_head_itself_deploys() -> None:
    assert await ensure_still_head(Heads(SHA), BUILD) == "main"


async def test_an_older_commit_does_not_deploy() -> None:
    with pytest.raises(DeliveryError) as refused:
        await ensure_still_head(Heads(NEWER), BUILD)
    assert str(refused.value) == f"main has moved on to {NEWER}: not deploying an older commit"
    assert not refused.value.infrastructure


async def test_a_deleted_branch_does_not_deploy() -> None:
    with pytest.raises(DeliveryError, match="main is no branch of acme/reports on GitHub"):
        await ensure_still_head(Heads(None), BUILD)


@pytest.mark.parametrize(
    "heads", [None, Heads(GitHubError("no answer from GitHub"))], ids=["no-client", "no-answer"]
)
async def test_when_github_cannot_be_asked_the_deploy_fails_closed(heads: Heads | None) -> None:
    with pytest.raises(DeliveryError) as failed:
        await ensure_still_head(heads, BUILD)
    assert str(failed.value).startswith(f"cannot check that {SHA[:12]} is still the head of main")
    assert failed.value.infrastructure and "not deploying" in str(failed.value)
