"""PyGithubClient.branch_head against the fake GitHub over real HTTP: the head of a branch of a
real git repository, as a deploy asks for it just before deploying."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from testing.fakes.github import FakeGitHub
from tingle.forge.github import GitHubError, PyGithubClient


@pytest.fixture
def client(fake_github: FakeGitHub) -> Iterator[PyGithubClient]:
    github = PyGithubClient(token="t0ken", base_url=fake_github.base_url, backoff_factor=0)
    yield github
    github.close()


def test_the_head_of_a_branch_follows_its_pushes(
    client: PyGithubClient, make_repo: Any, fake_github: FakeGitHub
) -> None:
    repo = make_repo("octo/app")
    first = repo.commit({"a": "1"})
    assert client.branch_head("octo/app", "main") == first
    repo.git("checkout", "--quiet", "-b", "release/1.0")
    release = repo.commit({"a": "2"})
    assert client.branch_head("octo/app", "release/1.0") == release
    assert client.branch_head("octo/app", "main") == first
    [request] = fake_github.requests_to("GET", "/repos/octo/app/git/ref/heads/release/1.0")
    assert request.headers["authorization"] == "token t0ken"


def test_a_missing_branch_is_none_and_a_failure_an_error(
    client: PyGithubClient, make_repo: Any, fake_github: FakeGitHub
) -> None:
    make_repo("octo/app").commit({"a": "1"})
    assert client.branch_head("octo/app", "gone") is None
    assert client.branch_head("octo/elsewhere", "main") is None
    fake_github.fail_next(4, 502, path="/repos/octo/app/git/ref/*")
    with pytest.raises(GitHubError) as failed:
        client.branch_head("octo/app", "main")
    assert failed.value.status == 502 and failed.value.retryable
