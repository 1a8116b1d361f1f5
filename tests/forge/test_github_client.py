"""PyGithubClient against the fake GitHub, over real HTTP."""

from __future__ import annotations

import asyncio
import email.utils
import socket
import time
from collections.abc import Iterator

import pytest

from testing.fakes.github import FakeGitHub
from tests.fakes.fixtures import FakeApp
from tingle.forge.auth import GitHubApp
from tingle.forge.comment import MARKER
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


# --- the brief's cases: 502 then 200, and no 422 for a long description --------------------------


def test_502_then_200_the_status_arrives(fake_github: FakeGitHub, client: PyGithubClient) -> None:
    fake_github.fail_next(1, status=502, method="POST", path=STATUS_PATH)
    post(client, state="success")
    assert [r.status for r in fake_github.requests] == [502, 201]
    assert [s["state"] for s in fake_github.statuses(REPO, SHA)] == ["success"]


def test_a_500_character_description_never_meets_a_422(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    post(client, state="failure", description="d" * 500)
    [request] = fake_github.requests
    assert len(request.json["description"]) <= 140 and request.status == 201


# --- failures: retryable or permanent, and when to come back ------------------------------------


def test_an_error_answer_says_whether_to_retry(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    cases = [(404, False), (422, False), (401, False), (500, True), (503, True)]
    for status, retryable in cases:
        fake_github.fail_next(4, status=status, path=STATUS_PATH)
        with pytest.raises(GitHubError) as raised:
            post(client)
        assert (raised.value.status, raised.value.retryable) == (status, retryable)
        fake_github.reset()


def test_no_answer_is_retryable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    unreachable = PyGithubClient(token="t", base_url=f"http://127.0.0.1:{port}", retries=0)
    with pytest.raises(GitHubError) as raised:
        post(unreachable)
    assert raised.value.retryable and raised.value.retry_after is None


def test_a_long_retry_after_is_not_waited_out_but_reported(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    message = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
    fake_github.fail_next(1, 403, body=message, headers={"Retry-After": "120"})
    start = time.monotonic()
    with pytest.raises(GitHubError) as raised:
        post(client)
    assert time.monotonic() - start < 5
    assert raised.value.status == 403 and raised.value.retryable
    assert raised.value.retry_after == 120
    assert len(fake_github.requests) == 1


def test_a_short_retry_after_is_waited_out(fake_github: FakeGitHub, client: PyGithubClient) -> None:
    fake_github.fail_next(1, 429, body={"message": "slow down"}, headers={"Retry-After": "1"})
    start = time.monotonic()
    post(client)
    assert time.monotonic() - start >= 1
    assert [r.status for r in fake_github.requests] == [429, 201]


def test_the_primary_rate_limit_reports_its_reset(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    fake_github.rate_limit_remaining = 0
    fake_github.rate_limit_reset = int(time.time()) + 1800
    with pytest.raises(GitHubError, match="rate limit") as raised:
        post(client)
    assert raised.value.status == 403 and raised.value.retryable
    assert raised.value.retry_after is not None and 1790 <= raised.value.retry_after <= 1800
    assert len(fake_github.requests) == 1
    assert client.rate_limit_remaining == 0


def test_a_secondary_rate_limit_without_headers_says_wait_a_minute(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    fake_github.fail_next(1, 403, body={"message": "You have exceeded a secondary rate limit."})
    with pytest.raises(GitHubError) as raised:
        post(client)
    assert raised.value.retryable and raised.value.retry_after == 60


def test_a_plain_403_is_permanent(fake_github: FakeGitHub, client: PyGithubClient) -> None:
    fake_github.fail_next(1, 403, body={"message": "Resource not accessible by integration"})
    with pytest.raises(GitHubError) as raised:
        post(client)
    assert raised.value.status == 403 and not raised.value.retryable
    assert raised.value.retry_after is None


def test_the_remaining_rate_limit_is_recorded(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    assert client.rate_limit_remaining is None  # nothing asked yet, and nothing asked to know
    post(client)
    assert client.rate_limit_remaining == 4999
    post(client)
    assert client.rate_limit_remaining == 4998
    assert len(fake_github.requests) == 2


# --- the PR comment -----------------------------------------------------------------------------

NUMBER = 7
COMMENTS_PATH = f"/repos/{REPO}/issues/{NUMBER}/comments"
BODY = MARKER + "\nBuild #1 passed"


def test_the_first_upsert_looks_then_creates(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    comment_id = client.upsert_pr_comment(REPO, NUMBER, BODY)
    assert [(r.method, r.path, r.status) for r in fake_github.requests] == [
        ("GET", COMMENTS_PATH, 200),
        ("POST", COMMENTS_PATH, 201),
    ]
    assert "per_page=100" in fake_github.requests[0].query
    [comment] = fake_github.comments(REPO, NUMBER)
    assert (comment["id"], comment["body"]) == (comment_id, BODY)


def test_a_known_comment_is_edited_in_one_patch(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    comment_id = client.upsert_pr_comment(REPO, NUMBER, BODY)
    fake_github.reset_requests()
    again = client.upsert_pr_comment(REPO, NUMBER, MARKER + "\nBuild #2 failed", comment_id)
    assert again == comment_id
    assert [(r.method, r.path) for r in fake_github.requests] == [
        ("PATCH", f"/repos/{REPO}/issues/comments/{comment_id}")
    ]
    [comment] = fake_github.comments(REPO, NUMBER)
    assert comment["body"].endswith("Build #2 failed")


def test_an_unknown_comment_is_found_by_its_marker_and_edited(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    for text in ("LGTM", BODY, "a question"):
        fake_github.add_comment(REPO, NUMBER, text)
    [ours] = [c["id"] for c in fake_github.comments(REPO, NUMBER) if c["body"] == BODY]
    assert client.upsert_pr_comment(REPO, NUMBER, MARKER + "\nnew") == ours
    assert [r.method for r in fake_github.requests] == ["GET", "PATCH"]
    assert len(fake_github.comments(REPO, NUMBER)) == 3


def test_in_a_long_thread_the_last_page_is_searched_too(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    for i in range(150):
        fake_github.add_comment(REPO, NUMBER, f"comment {i}")
    ours = fake_github.add_comment(REPO, NUMBER, BODY)
    assert client.upsert_pr_comment(REPO, NUMBER, MARKER + "\nnew") == ours
    gets = fake_github.requests_to("GET", COMMENTS_PATH)
    assert len(gets) == 2 and "page=2" in gets[1].query


def test_a_comment_deleted_by_a_person_is_made_again(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    comment_id = client.upsert_pr_comment(REPO, NUMBER, BODY)
    fake_github.delete_comment(comment_id)
    new_id = client.upsert_pr_comment(REPO, NUMBER, MARKER + "\nagain", comment_id)
    assert new_id != comment_id
    assert [c["id"] for c in fake_github.comments(REPO, NUMBER)] == [new_id]


def test_a_stale_known_id_falls_back_to_the_marked_comment(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    ours = fake_github.add_comment(REPO, NUMBER, BODY)
    assert client.upsert_pr_comment(REPO, NUMBER, MARKER + "\nx", 999999) == ours
    assert [r.method for r in fake_github.requests] == ["PATCH", "GET", "PATCH"]


def test_a_patch_is_retried_on_5xx(fake_github: FakeGitHub, client: PyGithubClient) -> None:
    comment_id = client.upsert_pr_comment(REPO, NUMBER, BODY)
    fake_github.fail_next(2, 502, method="PATCH")
    client.upsert_pr_comment(REPO, NUMBER, MARKER + "\nedited", comment_id)
    assert [r.status for r in fake_github.requests_to("PATCH", "*")] == [502, 502, 200]
    assert fake_github.comments(REPO, NUMBER)[0]["body"].endswith("edited")


def test_creating_a_comment_is_not_repeated_on_5xx(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    fake_github.fail_next(1, 502, method="POST", path=COMMENTS_PATH)
    with pytest.raises(GitHubError) as raised:
        client.upsert_pr_comment(REPO, NUMBER, BODY)
    assert raised.value.status == 502 and raised.value.retryable
    assert len(fake_github.requests_to("POST", COMMENTS_PATH)) == 1
    comment_id = client.upsert_pr_comment(REPO, NUMBER, BODY)  # the caller's catch-up
    assert [c["id"] for c in fake_github.comments(REPO, NUMBER)] == [comment_id]


def test_an_over_long_body_is_refused_without_a_request(
    fake_github: FakeGitHub, client: PyGithubClient
) -> None:
    with pytest.raises(ValueError, match="65536"):
        client.upsert_pr_comment(REPO, NUMBER, "x" * 65537)
    assert fake_github.requests == []


def test_comment_upserts_refresh_an_expired_app_token(
    fake_github: FakeGitHub, github_app: FakeApp
) -> None:
    app = GitHubApp(
        app_id=github_app.app_id, private_key=github_app.private_key, base_url=fake_github.base_url
    )
    client = PyGithubClient(
        credentials=app.installation(github_app.installation_id),
        base_url=fake_github.base_url,
        seconds_between_writes=0,
        seconds_between_requests=0,
    )
    comment_id = client.upsert_pr_comment(REPO, NUMBER, BODY)
    fake_github.revoke_installation_tokens()
    assert client.upsert_pr_comment(REPO, NUMBER, MARKER + "\n2", comment_id) == comment_id
    assert len(fake_github.installation_tokens) == 2


def test_an_enterprise_long_thread_is_searched_under_its_path(fake_github: FakeGitHub) -> None:
    enterprise = PyGithubClient(
        token="t",
        base_url=fake_github.base_url + "/api/v3",
        seconds_between_writes=0,
        seconds_between_requests=0,
    )
    for i in range(120):
        fake_github.add_comment(REPO, NUMBER, f"comment {i}")
    ours = fake_github.add_comment(REPO, NUMBER, BODY)
    assert enterprise.upsert_pr_comment(REPO, NUMBER, MARKER + "\nnew") == ours
    assert [r.path for r in fake_github.requests] == [
        "/api/v3" + COMMENTS_PATH,
        "/api/v3" + COMMENTS_PATH,
        f"/api/v3/repos/{REPO}/issues/comments/{ours}",
    ]


def test_a_retry_after_date_is_understood(fake_github: FakeGitHub, client: PyGithubClient) -> None:
    later = email.utils.formatdate(time.time() + 300, usegmt=True)
    fake_github.fail_next(1, 503, body={"message": "unavailable"}, headers={"Retry-After": later})
    with pytest.raises(GitHubError) as raised:
        post(client)
    assert raised.value.retryable and raised.value.status == 503
    assert raised.value.retry_after is not None and 290 <= raised.value.retry_after <= 300
