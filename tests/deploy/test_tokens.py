"""Google ID tokens for real: google-auth signs a service-account assertion and trades it for an
ID token at a token endpoint (the fake's stand-in for Google's), which Styx then accepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from testing.fakes.styx import FakeStyx
from tests.deploy.test_deploy import INFO, RELEASE, Log
from tingle.deploy import GoogleIdToken, SchedulerError, StaticToken, StyxClient, deploy


@pytest.fixture(scope="module")
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode()


def service_account(styx: FakeStyx, pem: str) -> dict[str, Any]:
    return {
        "type": "service_account",
        "project_id": "acme",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "tingle@acme.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": f"{styx.base_url}/oauth2/token",
    }


def token_requests(styx: FakeStyx) -> int:
    return sum(1 for r in styx.requests if r.path == "/oauth2/token")


async def test_a_deploy_with_a_service_account_id_token(
    styx: FakeStyx, private_key_pem: str
) -> None:
    tokens = GoogleIdToken(styx.base_url, service_account(styx, private_key_pem))
    async with StyxClient(styx.base_url, tokens) as client:
        summary = await deploy(client, INFO, RELEASE, log=Log())
    assert summary.created == ("daily-report", "hourly-sync")
    assert token_requests(styx) == 1  # fetched once, reused while valid
    bearer = {r.headers["authorization"] for r in styx.requests if r.path.startswith("/api")}
    assert len(bearer) == 1 and bearer.pop().count(".") == 2  # one JWT for every call


async def test_application_default_credentials(
    styx: FakeStyx, private_key_pem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(service_account(styx, private_key_pem)))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    token = await GoogleIdToken(styx.base_url).token()
    assert token.count(".") == 2 and token_requests(styx) == 1


async def test_a_token_that_cannot_be_had_is_a_clear_error(
    styx: FakeStyx, private_key_pem: str
) -> None:
    styx.fail_next(400, "Bad Request", path="/oauth2/token")
    tokens = GoogleIdToken(styx.base_url, service_account(styx, private_key_pem))
    with pytest.raises(SchedulerError, match="could not get a Google ID token") as caught:
        await tokens.token()
    assert caught.value.infrastructure
    broken = GoogleIdToken(styx.base_url, {"type": "service_account"})
    with pytest.raises(SchedulerError, match="could not get a Google ID token"):
        await broken.token()


async def test_static_token() -> None:
    assert await StaticToken("abc").token() == "abc"
