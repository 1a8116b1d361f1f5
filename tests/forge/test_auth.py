"""GitHub App authentication against the fake GitHub, over real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import jwt
import pytest

from testing.fakes.github import FakeGitHub
from tests.fakes.fixtures import AppKeys, FakeApp
from tingle.forge.auth import GitHubApp, GitHubClients
from tingle.forge.github import GitHubClient, GitHubError, PyGithubClient

SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
REPO = "octo/hello"
TOKEN_PATH = "/app/installations/*/access_tokens"
STATUS_PATH = f"/repos/{REPO}/statuses/{SHA}"


def make_app(fake: FakeGitHub, app: FakeApp, refresh_margin: float = 300) -> GitHubApp:
    return GitHubApp(
        app_id=app.app_id,
        private_key=app.private_key,
        base_url=fake.base_url,
        backoff_factor=0,
        refresh_margin=refresh_margin,
    )


def make_client(fake: FakeGitHub, github_app: GitHubApp, installation_id: int) -> PyGithubClient:
    return PyGithubClient(
        credentials=github_app.installation(installation_id),
        base_url=fake.base_url,
        seconds_between_writes=0,
        seconds_between_requests=0,
        backoff_factor=0,
    )


@pytest.fixture
def app_client(fake_github: FakeGitHub, github_app: FakeApp) -> Iterator[PyGithubClient]:
    client = make_client(fake_github, make_app(fake_github, github_app), github_app.installation_id)
    yield client
    client.close()


def post(client: GitHubClient, state: str = "pending", context: str = "tingle/build") -> None:
    client.create_status(
        REPO, SHA, state=state, target_url=None, description=f"build {state}", context=context
    )


def tokens_sent(fake: FakeGitHub) -> list[str]:
    return [r.headers["authorization"] for r in fake.requests_to("POST", STATUS_PATH)]


def test_the_jwt_is_rs256_signed_backdated_and_within_ten_minutes(
    github_app: FakeApp, github_app_keys: AppKeys, fake_github: FakeGitHub
) -> None:
    token = make_app(fake_github, github_app).jwt()
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(token, github_app_keys.public_pem, algorithms=["RS256"])
    now = time.time()
    assert claims["iss"] == str(github_app.app_id)
    assert now - 62 <= claims["iat"] <= now - 58
    assert claims["exp"] - claims["iat"] <= 600 and claims["exp"] > now


def test_an_app_status_is_one_token_exchange_then_one_post_with_the_installation_token(
    fake_github: FakeGitHub, github_app: FakeApp, app_client: PyGithubClient
) -> None:
    post(app_client)
    post(app_client, "success")
    [exchange] = fake_github.requests_to("POST", TOKEN_PATH)
    assert exchange.path == f"/app/installations/{github_app.installation_id}/access_tokens"
    assert exchange.headers["authorization"].startswith("Bearer ")
    [issued] = fake_github.installation_tokens
    assert tokens_sent(fake_github) == [f"token {issued.token}"] * 2  # cached for the second
    assert issued.installation_id == github_app.installation_id
    assert [s["state"] for s in fake_github.statuses(REPO, SHA)] == ["pending", "success"]


def test_a_token_that_expires_between_two_posts_is_renewed_once(
    fake_github: FakeGitHub, github_app: FakeApp
) -> None:
    fake_github.token_lifetime = 2
    app = make_app(fake_github, github_app, refresh_margin=0)
    client = make_client(fake_github, app, github_app.installation_id)
    post(client, "pending")
    [first] = fake_github.installation_tokens
    time.sleep(max(0.0, first.expires_at - time.time()) + 0.05)  # the build goes on meanwhile
    assert first.expired
    post(client, "success")
    assert len(fake_github.requests_to("POST", TOKEN_PATH)) == 2  # exactly one new token
    first_token, second_token = (t.token for t in fake_github.installation_tokens)
    assert tokens_sent(fake_github) == [f"token {first_token}", f"token {second_token}"]
    assert [r.status for r in fake_github.requests_to("POST", STATUS_PATH)] == [201, 201]


def test_a_token_is_renewed_refresh_margin_seconds_before_it_expires(
    fake_github: FakeGitHub, github_app: FakeApp
) -> None:
    fake_github.token_lifetime = 5
    app = make_app(fake_github, github_app, refresh_margin=3)
    client = make_client(fake_github, app, github_app.installation_id)
    post(client)
    post(client)  # 4 to 5 seconds left: still more than the margin
    assert len(fake_github.installation_tokens) == 1
    [first] = fake_github.installation_tokens
    time.sleep(max(0.0, first.expires_at - 3 - time.time()) + 0.05)
    post(client)
    assert not first.expired  # GitHub would still take it, but it is renewed ahead of time
    assert len(fake_github.installation_tokens) == 2
    assert [r.status for r in fake_github.requests_to("POST", STATUS_PATH)] == [201] * 3


def test_a_revoked_token_is_refreshed_once_and_the_post_succeeds(
    fake_github: FakeGitHub, app_client: PyGithubClient
) -> None:
    post(app_client)
    fake_github.revoke_installation_tokens()
    post(app_client, "success")
    assert [r.status for r in fake_github.requests_to("POST", STATUS_PATH)] == [201, 401, 201]
    assert len(fake_github.requests_to("POST", TOKEN_PATH)) == 2  # one refresh
    assert [s["state"] for s in fake_github.statuses(REPO, SHA)] == ["pending", "success"]


def test_a_401_after_the_refresh_is_a_permanent_error(
    fake_github: FakeGitHub, app_client: PyGithubClient
) -> None:
    fake_github.fail_next(
        2, 401, method="POST", path=STATUS_PATH, body={"message": "Bad credentials"}
    )
    with pytest.raises(GitHubError) as raised:
        post(app_client)
    assert raised.value.status == 401 and not raised.value.retryable
    assert len(fake_github.requests_to("POST", STATUS_PATH)) == 2  # the try and one after a refresh
    assert len(fake_github.requests_to("POST", TOKEN_PATH)) == 2


def test_concurrent_posts_share_one_token_and_one_refresh(
    fake_github: FakeGitHub, app_client: PyGithubClient
) -> None:
    def post_many(offset: int) -> None:
        for i in range(3):
            post(app_client, context=f"ctx{offset}-{i}")

    def run_threads() -> None:
        threads = [threading.Thread(target=post_many, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    run_threads()
    assert len(fake_github.requests_to("POST", TOKEN_PATH)) == 1
    fake_github.revoke_installation_tokens()
    run_threads()
    assert len(fake_github.requests_to("POST", TOKEN_PATH)) == 2  # eight 401s, one new token
    assert len(fake_github.statuses(REPO, SHA)) == 48


def test_installations_have_their_own_tokens(fake_github: FakeGitHub, github_app: FakeApp) -> None:
    app = make_app(fake_github, github_app)
    for installation_id in github_app.installations:
        post(make_client(fake_github, app, installation_id))
    assert [t.installation_id for t in fake_github.installation_tokens] == [1001, 1002]
    assert len(set(tokens_sent(fake_github))) == 2


def test_an_unknown_installation_is_a_permanent_error(
    fake_github: FakeGitHub, github_app: FakeApp
) -> None:
    client = make_client(fake_github, make_app(fake_github, github_app), 999)
    with pytest.raises(GitHubError, match="token request for installation 999") as raised:
        post(client)
    assert raised.value.status == 404 and not raised.value.retryable
    assert fake_github.requests_to("POST", STATUS_PATH) == []


def test_a_key_github_does_not_know_is_refused(
    fake_github: FakeGitHub, github_app: FakeApp, github_app_keys: AppKeys
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    app = GitHubApp(app_id=github_app.app_id, private_key=other, base_url=fake_github.base_url)
    with pytest.raises(GitHubError, match="JSON web token could not be decoded") as raised:
        app.token(github_app.installation_id)
    assert raised.value.status == 401 and not raised.value.retryable


def test_a_5xx_from_the_token_exchange_is_retried(
    fake_github: FakeGitHub, app_client: PyGithubClient
) -> None:
    fake_github.fail_next(1, 502, path=TOKEN_PATH)
    post(app_client)
    assert [r.status for r in fake_github.requests_to("POST", TOKEN_PATH)] == [502, 201]
    assert len(fake_github.statuses(REPO, SHA)) == 1


def test_a_private_key_that_is_not_pem_is_refused_at_once() -> None:
    with pytest.raises(ValueError):
        GitHubApp(app_id=1, private_key="not a key")


# --- GitHubClients: the clients of a process ----------------------------------------------------


def test_with_a_token_every_build_shares_one_client(fake_github: FakeGitHub) -> None:
    clients = GitHubClients(token="t0ken", base_url=fake_github.base_url)
    client = clients.for_build(None)
    assert clients.for_build(1001) is client and clients.for_build(7) is client
    assert clients.clone_token(1001) == "t0ken"
    post(client)
    assert tokens_sent(fake_github) == ["token t0ken"]
    clients.close()


def test_with_an_app_each_installation_has_its_client(
    fake_github: FakeGitHub, github_app: FakeApp
) -> None:
    clients = GitHubClients(app=make_app(fake_github, github_app), base_url=fake_github.base_url)
    first, second = clients.for_build(1001), clients.for_build(1002)
    assert first is not second and clients.for_build(1001) is first
    post(first)
    post(second)
    assert [t.installation_id for t in fake_github.installation_tokens] == [1001, 1002]
    assert clients.clone_token(1001) == fake_github.installation_tokens[0].token  # cached
    # One countdown in the fake: exchange, post (4998), exchange, post (4996).
    assert clients.rate_limits() == {1001: 4998, 1002: 4996}
    clients.close()


def test_an_app_build_without_installation_uses_the_token_or_fails_cleanly(
    fake_github: FakeGitHub, github_app: FakeApp
) -> None:
    app = make_app(fake_github, github_app)
    with_token = GitHubClients(app=app, token="pat", base_url=fake_github.base_url)
    post(with_token.for_build(None))
    assert tokens_sent(fake_github) == ["token pat"]
    app_only = GitHubClients(app=app, base_url=fake_github.base_url)
    with pytest.raises(GitHubError, match="no GitHub App installation") as raised:
        post(app_only.for_build(None))
    assert not raised.value.retryable
    assert len(fake_github.requests) == 1  # nothing sent for the second


def test_clients_need_some_credentials() -> None:
    with pytest.raises(ValueError, match="token or an App"):
        GitHubClients()
