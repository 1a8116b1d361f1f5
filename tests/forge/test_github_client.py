"""PyGithubClient against the fake GitHub, over real HTTP."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest

from tests.fakes.github import FakeGitHub
from tingle.forge.github import GitHubClient, GitHubError, PyGithubClient, describe

SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
REPO = "octo/hello"
STATUS_PATH = f"/repos/{REPO}/statuses/{SHA}"


@pytest.fixture
def client(fake_github: FakeGitHub) -> Iterator[PyGithubClient]:
    github = PyGithubClient(
        token="t0ken",
        base_url=fake_github.base_url,
        seconds_between_writes=0,
        seconds_between_requests=0,
        backoff_factor=0,  # retry at once: the tests check how often, not how patiently
    )
    yield github
    github.close()


def post(client: GitHubClient, **overrides: str | None) -> None:
    fields: dict[str, str | None] = {
        "state": "pending",
        "target_url": "https://tingle.example/builds/42",
        "description": "Build #42 queued",
        "context": "tingle/build",
    }
    fields.update(overrides)
    client.create_status(
        REPO,
        SHA,
        state=str(fields["state"]),
        target_url=fields["target_url"],
        description=str(fields["description"]),
        context=str(fields["context"]),
    )


def test_a_status_is_exactly_one_post_with_githubs_json(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    post(client)
    [request] = fake_github.requests  # lazy objects: no GET of the repo or the commit first
    assert (request.method, request.path, request.status) == ("POST", STATUS_PATH, 201)
    assert request.headers["authorization"] == "token t0ken"
    assert request.json == {
        "state": "pending",
        "target_url": "https://tingle.example/builds/42",
        "description": "Build #42 queued",
        "context": "tingle/build",
    }


def test_every_status_is_one_post(fake_github: FakeGitHub, client: PyGithubClient) -> None:
    for state in ("pending", "success", "failure", "error"):
        post(client, state=state)
    assert [r.method for r in fake_github.requests] == ["POST"] * 4
    assert [s["state"] for s in fake_github.statuses(REPO, SHA)] == [
        "pending",
        "success",
        "failure",
        "error",
    ]


def test_no_target_url_is_left_out_of_the_body(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    post(client, target_url=None)
    assert "target_url" not in fake_github.requests[0].json


def test_a_long_description_is_cut_before_sending(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    post(client, state="failure", description="step test failed: " + "x" * 300)
    sent = fake_github.requests[0].json["description"]
    assert len(sent) == 140 and sent.endswith("…")
    assert fake_github.statuses(REPO, SHA)[0]["description"] == sent  # and GitHub accepted it


@pytest.mark.parametrize("state", ["queued", "SUCCESS", ""])
def test_an_unknown_state_is_refused_without_a_request(
    fake_github: FakeGitHub, client: PyGithubClient, state: str
) -> None:
    with pytest.raises(ValueError, match="state must be one of"):
        post(client, state=state)
    assert fake_github.requests == []


@pytest.mark.parametrize("repo", ["hello", "octo/hello/extra", "octo/he llo", "octo/x?y=1"])
def test_a_repo_that_is_not_owner_slash_name_is_refused(client: PyGithubClient, repo: str) -> None:
    with pytest.raises(ValueError, match="owner/name"):
        client.create_status(
            repo, SHA, state="success", target_url=None, description="", context="c"
        )


def test_an_enterprise_base_url_keeps_its_path(fake_github: FakeGitHub) -> None:
    enterprise = PyGithubClient(
        token="t", base_url=fake_github.base_url + "/api/v3/", seconds_between_writes=0
    )
    post(enterprise)
    assert [r.path for r in fake_github.requests] == ["/api/v3" + STATUS_PATH]


def test_a_single_502_is_retried_and_the_status_arrives_once(fake_github: FakeGitHub) -> None:
    # Default retry settings: urllib3 makes the first retry without waiting.
    default = PyGithubClient(token="t", base_url=fake_github.base_url)
    fake_github.fail_next(1, status=502)
    post(default)
    assert [r.status for r in fake_github.requests] == [502, 201]
    assert len(fake_github.statuses(REPO, SHA)) == 1


def test_persistent_5xx_ends_in_a_github_error_carrying_the_status(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    fake_github.fail_next(10, status=502)
    with pytest.raises(GitHubError) as raised:
        post(client)
    assert raised.value.status == 502
    assert "502" in str(raised.value) and REPO in str(raised.value)
    assert [r.status for r in fake_github.requests] == [502] * 4  # the try and 3 retries
    assert fake_github.statuses(REPO, SHA) == []


def test_a_validation_failure_is_not_retried(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    fake_github.status_limit = 1
    post(client)
    with pytest.raises(
        GitHubError, match="Validation Failed; This SHA and context has reached the maximum"
    ) as raised:
        post(client)
    assert raised.value.status == 422
    assert [r.status for r in fake_github.requests] == [201, 422]


def test_bad_credentials_are_a_github_error_without_retry(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    fake_github.accept_tokens("another")
    with pytest.raises(GitHubError) as raised:
        post(client)
    assert raised.value.status == 401
    assert len(fake_github.requests) == 1


def test_no_server_is_a_github_error_without_status() -> None:
    with socket.socket() as sock:  # a port that nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    unreachable = PyGithubClient(
        token="t", base_url=f"http://127.0.0.1:{port}", backoff_factor=0, retries=1
    )
    with pytest.raises(GitHubError, match="no answer from GitHub") as raised:
        post(unreachable)
    assert raised.value.status is None


def test_writes_are_spaced_by_seconds_between_writes(fake_github: FakeGitHub) -> None:
    spaced = PyGithubClient(token="t", base_url=fake_github.base_url, seconds_between_writes=0.3)
    start = time.monotonic()
    post(spaced)
    post(spaced)
    assert time.monotonic() - start >= 0.3
    assert len(fake_github.statuses(REPO, SHA)) == 2


async def test_one_client_serves_concurrent_threads(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    await asyncio.gather(*(asyncio.to_thread(post, client, context=f"ctx{i}") for i in range(10)))
    assert sorted(s["context"] for s in fake_github.statuses(REPO, SHA)) == sorted(
        f"ctx{i}" for i in range(10)
    )
    assert len(fake_github.requests) == 10


def test_an_empty_token_is_refused() -> None:
    with pytest.raises(ValueError, match="token"):
        PyGithubClient(token="")


# --- describe -----------------------------------------------------------------------------------


def test_describe_keeps_short_text() -> None:
    assert describe("Build #1 passed in 12s") == "Build #1 passed in 12s"


def test_describe_keeps_exactly_140_characters() -> None:
    assert describe("x" * 140) == "x" * 140


def test_describe_cuts_to_the_limit_with_an_ellipsis() -> None:
    cut = describe("y" * 141)
    assert cut == "y" * 139 + "…" and len(cut) == 140


def test_describe_puts_text_on_one_line() -> None:
    assert describe("step failed:\n  exit code 2\t(test)") == "step failed: exit code 2 (test)"


def test_describe_does_not_leave_a_space_before_the_ellipsis() -> None:
    assert describe("abcd efgh", limit=6) == "abcd…"


def test_describe_counts_characters_not_bytes() -> None:
    assert describe("✓" * 140) == "✓" * 140
    assert describe("🚀" * 141, limit=140) == "🚀" * 139 + "…"


def test_describe_with_a_custom_limit() -> None:
    assert describe("abcdef", limit=3) == "ab…"
    with pytest.raises(ValueError):
        describe("abc", limit=0)
