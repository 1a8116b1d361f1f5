"""The fake GitHub keeps GitHub's contract: these tests pin the rules other tests rely on."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from testing.fakes.github import FakeGitHub
from tests.fakes.fixtures import FakeApp

SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
REPO = "octo/hello"
AUTH = {"Authorization": "token t0ken"}


@pytest.fixture
def api(fake_github: FakeGitHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake_github.base_url, headers=AUTH) as client:
        yield client


def post_status(api: httpx.Client, **body: object) -> httpx.Response:
    return api.post(f"/repos/{REPO}/statuses/{SHA}", json={"state": "pending", **body})


def test_create_status_answers_201_with_a_status_like_githubs(
    fake_github: FakeGitHub, api: httpx.Client
) -> None:
    response = post_status(
        api, target_url="https://ci/b/1", description="queued", context="tingle/build"
    )
    assert response.status_code == 201
    status = response.json()
    assert {k: status[k] for k in ("state", "target_url", "description", "context")} == {
        "state": "pending",
        "target_url": "https://ci/b/1",
        "description": "queued",
        "context": "tingle/build",
    }
    assert isinstance(status["id"], int)
    assert status["url"] == f"{fake_github.base_url}/repos/{REPO}/statuses/{SHA}"
    assert status["creator"]["login"] == "tingle-bot"
    assert fake_github.statuses(REPO, SHA) == [status]


def test_context_defaults_to_default_and_statuses_keep_arrival_order(
    fake_github: FakeGitHub, api: httpx.Client
) -> None:
    post_status(api)
    post_status(api, state="success", context="c")
    assert [(s["context"], s["state"]) for s in fake_github.statuses(REPO, SHA)] == [
        ("default", "pending"),
        ("c", "success"),
    ]
    listed = api.get(f"/repos/{REPO}/commits/{SHA}/statuses").json()
    assert [s["context"] for s in listed] == ["c", "default"]  # GitHub lists newest first


@pytest.mark.parametrize("state", ["queued", None, "SUCCESS"])
def test_unknown_state_is_a_validation_failure(
    fake_github: FakeGitHub, api: httpx.Client, state: str | None
) -> None:
    response = post_status(api, state=state)
    assert response.status_code == 422
    assert response.json()["message"] == "Validation Failed"
    assert response.json()["errors"][0]["field"] == "state"
    assert fake_github.statuses(REPO, SHA) == []


def test_description_over_140_characters_is_a_validation_failure(
    fake_github: FakeGitHub, api: httpx.Client
) -> None:
    assert post_status(api, description="x" * 140).status_code == 201
    response = post_status(api, description="x" * 141)
    assert response.status_code == 422
    assert "maximum is 140 characters" in response.json()["errors"][0]["message"]
    assert len(fake_github.statuses(REPO, SHA)) == 1


def test_status_on_something_that_is_not_a_sha_is_rejected(api: httpx.Client) -> None:
    response = api.post(f"/repos/{REPO}/statuses/main", json={"state": "success"})
    assert response.status_code == 422
    assert response.json()["message"] == "No commit found for SHA: main"


def test_statuses_are_limited_per_sha_and_context(
    fake_github: FakeGitHub, api: httpx.Client
) -> None:
    assert fake_github.status_limit == 1000  # GitHub's limit; lowered below to keep the test fast
    fake_github.status_limit = 3
    assert [post_status(api, context="a").status_code for _ in range(4)] == [201, 201, 201, 422]
    assert post_status(api, context="b").status_code == 201  # another context has its own count
    error = post_status(api, context="a").json()["errors"][0]
    assert error["message"] == "This SHA and context has reached the maximum number of statuses."


@pytest.mark.parametrize(
    ("header", "message"),
    [(None, "Requires authentication"), ("Basic abc", "Requires authentication")],
)
def test_requests_without_a_token_are_401(
    fake_github: FakeGitHub, header: str | None, message: str
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = httpx.post(
        f"{fake_github.base_url}/repos/{REPO}/statuses/{SHA}",
        json={"state": "success"},
        headers=headers,
    )
    assert (response.status_code, response.json()["message"]) == (401, message)
    assert fake_github.statuses(REPO, SHA) == []


def test_token_and_bearer_forms_are_accepted_and_tokens_can_be_restricted(
    fake_github: FakeGitHub,
) -> None:
    url = f"{fake_github.base_url}/repos/{REPO}"
    assert httpx.get(url, headers={"Authorization": "Bearer abc"}).status_code == 200
    fake_github.accept_tokens("good")
    assert httpx.get(url, headers={"Authorization": "token good"}).status_code == 200
    bad = httpx.get(url, headers={"Authorization": "token bad"})
    assert (bad.status_code, bad.json()["message"]) == (401, "Bad credentials")


def test_requests_are_recorded_with_headers_and_json(
    fake_github: FakeGitHub, api: httpx.Client
) -> None:
    post_status(api, context="x")
    [request] = fake_github.requests
    assert (request.method, request.path, request.status) == (
        "POST",
        f"/repos/{REPO}/statuses/{SHA}",
        201,
    )
    assert request.headers["authorization"] == "token t0ken"
    assert request.json == {"state": "pending", "context": "x"}
    assert fake_github.requests_to("POST", "/repos/*/statuses/*") == [request]


def test_fail_next_answers_the_next_matching_requests_with_the_status(
    fake_github: FakeGitHub, api: httpx.Client
) -> None:
    fake_github.fail_next(2, status=502, method="POST", path="/repos/*/statuses/*")
    assert api.get(f"/repos/{REPO}").status_code == 200  # does not match: not consumed
    assert [post_status(api).status_code for _ in range(3)] == [502, 502, 201]
    assert [r.status for r in fake_github.requests_to("POST", "*")] == [502, 502, 201]
    assert len(fake_github.statuses(REPO, SHA)) == 1


def test_bad_json_is_400_and_unknown_paths_are_githubs_404(api: httpx.Client) -> None:
    response = api.post(f"/repos/{REPO}/statuses/{SHA}", content=b"{nope")
    assert (response.status_code, response.json()["message"]) == (400, "Problems parsing JSON")
    missing = api.get("/nowhere")
    assert (missing.status_code, missing.json()["message"]) == (404, "Not Found")


def test_the_api_is_also_served_under_the_enterprise_prefix(
    fake_github: FakeGitHub, api: httpx.Client
) -> None:
    response = api.post(f"/api/v3/repos/{REPO}/statuses/{SHA}", json={"state": "success"})
    assert response.status_code == 201
    assert fake_github.statuses(REPO, SHA)[0]["state"] == "success"


def test_get_repo_answers_for_any_repository(api: httpx.Client) -> None:
    repo = api.get(f"/repos/{REPO}").json()
    assert (repo["full_name"], repo["default_branch"]) == (REPO, "main")


def test_issue_comments_are_created_listed_and_edited(
    fake_github: FakeGitHub, api: httpx.Client
) -> None:
    created = api.post(f"/repos/{REPO}/issues/7/comments", json={"body": "Build queued"})
    assert created.status_code == 201
    comment = created.json()
    assert comment["body"] == "Build queued"
    assert comment["html_url"].endswith(f"/pull/7#issuecomment-{comment['id']}")
    edited = api.patch(f"/repos/{REPO}/issues/comments/{comment['id']}", json={"body": "Passed"})
    assert (edited.status_code, edited.json()["body"]) == (200, "Passed")
    listed = api.get(f"/repos/{REPO}/issues/7/comments").json()
    assert [c["body"] for c in listed] == ["Passed"]
    assert [c["body"] for c in fake_github.comments(REPO, 7)] == ["Passed"]
    assert api.get(f"/repos/{REPO}/issues/comments/{comment['id']}").json()["body"] == "Passed"
    assert (
        api.patch(
            f"/repos/other/repo/issues/comments/{comment['id']}", json={"body": "x"}
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("body", "code"), [({"body": "x" * 65537}, "custom"), ({}, "missing_field")]
)
def test_comment_bodies_are_validated(
    fake_github: FakeGitHub, api: httpx.Client, body: dict[str, str], code: str
) -> None:
    response = api.post(f"/repos/{REPO}/issues/7/comments", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == code
    assert (
        api.post(f"/repos/{REPO}/issues/7/comments", json={"body": "x" * 65536}).status_code == 201
    )


def test_wait_for_status_sees_a_status_posted_later(
    fake_github: FakeGitHub, api: httpx.Client
) -> None:
    timer = threading.Timer(
        0.1, post_status, args=(api,), kwargs={"state": "success", "context": "c"}
    )
    timer.start()
    assert fake_github.wait_for_status(REPO, SHA, "c", "success", timeout=5)["state"] == "success"
    timer.join()


def test_wait_for_status_times_out_with_what_it_saw(
    fake_github: FakeGitHub, api: httpx.Client
) -> None:
    post_status(api, context="c")
    with pytest.raises(AssertionError, match=r"seen: \[\('c', 'pending'\)\]"):
        fake_github.wait_for_status(REPO, SHA, "c", "success", timeout=0.1)


def test_reset_forgets_everything(fake_github: FakeGitHub, api: httpx.Client) -> None:
    post_status(api)
    fake_github.fail_next(1)
    fake_github.accept_tokens("only")
    fake_github.reset()
    assert fake_github.requests == [] and fake_github.statuses(REPO, SHA) == []
    assert post_status(api).status_code == 201


def test_a_fake_can_run_on_its_own_and_stops_cleanly() -> None:
    with FakeGitHub() as fake:
        base_url = fake.base_url
        assert httpx.get(f"{base_url}/repos/{REPO}", headers=AUTH).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/repos/{REPO}", headers=AUTH)


# --- GitHub App endpoints, rate limits and pagination -------------------------------------------


def app_jwt(
    private_pem: str, *, iss: str = "4242", iat: float | None = None, ttl: int = 540
) -> str:
    import jwt

    now = int(time.time()) if iat is None else int(iat)
    return jwt.encode(
        {"iat": now - 60, "exp": now + ttl, "iss": iss}, private_pem, algorithm="RS256"
    )


def test_an_app_jwt_is_exchanged_for_an_installation_token(
    fake_github: FakeGitHub, github_app: FakeApp
) -> None:
    path = f"/app/installations/{github_app.installation_id}/access_tokens"
    bearer = {"Authorization": f"Bearer {app_jwt(github_app.private_key)}"}
    with httpx.Client(base_url=fake_github.base_url) as api:
        answer = api.post(path, headers=bearer)
        assert answer.status_code == 201
        token, expires_at = answer.json()["token"], answer.json()["expires_at"]
        assert token.startswith("ghs_") and expires_at.endswith("Z")
        status = api.post(
            f"/repos/{REPO}/statuses/{SHA}",
            headers={"Authorization": f"token {token}"},
            json={"state": "success"},
        )
        assert status.status_code == 201
        assert api.post("/app/installations/5/access_tokens", headers=bearer).status_code == 404


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda key: "not.a.jwt", "could not be decoded"),
        (lambda key: app_jwt(key, ttl=900), "too far in the future"),
        (lambda key: app_jwt(key, iat=time.time() - 900), "'Expiration time' claim"),
        (lambda key: app_jwt(key, iss="1"), "Integration not found"),
    ],
)
def test_a_bad_app_jwt_is_refused(
    fake_github: FakeGitHub, github_app: FakeApp, make: Any, message: str
) -> None:
    path = f"/app/installations/{github_app.installation_id}/access_tokens"
    with httpx.Client(base_url=fake_github.base_url) as api:
        answer = api.post(path, headers={"Authorization": f"Bearer {make(github_app.private_key)}"})
    assert answer.status_code == 401 and message in answer.json()["message"]
    assert fake_github.installation_tokens == []


def test_an_expired_or_revoked_installation_token_is_bad_credentials(
    fake_github: FakeGitHub, github_app: FakeApp
) -> None:
    fake_github.token_lifetime = 1
    path = f"/app/installations/{github_app.installation_id}/access_tokens"
    with httpx.Client(base_url=fake_github.base_url) as api:
        bearer = {"Authorization": f"Bearer {app_jwt(github_app.private_key)}"}
        token = api.post(path, headers=bearer).json()["token"]
        time.sleep(max(0.0, fake_github.installation_tokens[0].expires_at - time.time()) + 0.05)
        expired = api.get(f"/repos/{REPO}", headers={"Authorization": f"token {token}"})
        assert (expired.status_code, expired.json()["message"]) == (401, "Bad credentials")
        fake_github.token_lifetime = 3600
        token = api.post(path, headers=bearer).json()["token"]
        assert api.get(f"/repos/{REPO}", headers={"Authorization": f"token {token}"}).is_success
        fake_github.revoke_installation_tokens()
        assert (
            api.get(f"/repos/{REPO}", headers={"Authorization": f"token {token}"}).status_code
            == 401
        )
        made_up = api.get(f"/repos/{REPO}", headers={"Authorization": "token ghs_madeup"})
        assert made_up.status_code == 401


def test_answers_count_the_rate_limit_down_to_a_403(
    fake_github: FakeGitHub, api: httpx.Client
) -> None:
    first = api.get(f"/repos/{REPO}")
    assert first.headers["x-ratelimit-limit"] == "5000"
    assert first.headers["x-ratelimit-remaining"] == "4999"
    fake_github.rate_limit_remaining = 1
    assert api.get(f"/repos/{REPO}").headers["x-ratelimit-remaining"] == "0"
    limited = api.get(f"/repos/{REPO}")
    assert limited.status_code == 403 and "rate limit exceeded" in limited.json()["message"]
    assert limited.headers["x-ratelimit-reset"] == str(fake_github.rate_limit_reset)


def test_comments_are_paginated_with_a_link_header(
    fake_github: FakeGitHub, api: httpx.Client
) -> None:
    for i in range(5):
        fake_github.add_comment(REPO, 3, f"c{i}")
    path = f"/repos/{REPO}/issues/3/comments"
    first = api.get(path, params={"per_page": 2})
    assert [c["body"] for c in first.json()] == ["c0", "c1"]
    assert first.links["next"]["url"].endswith("per_page=2&page=2")
    assert first.links["last"]["url"] == f"{fake_github.base_url}{path}?per_page=2&page=3"
    assert "prev" not in first.links
    last = api.get(first.links["last"]["url"])
    assert [c["body"] for c in last.json()] == ["c4"] and "next" not in last.links
    assert "Link" not in api.get(path).headers  # one page of 30: no Link header
