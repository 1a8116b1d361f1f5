"""pytest fixtures for the fakes (testing/fakes).

Use them from a conftest.py: `from tests.fakes.fixtures import fake_github, fake_github_server`
(both names, as the first depends on the second), or `pytest_plugins = ["tests.fakes.fixtures"]`
in the root conftest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from testing.fakes.github import FakeGitHub
from testing.fakes.styx import FakeStyx

STYX_TOKEN = "styx-test-token"  # the only bearer token the `styx` fixture accepts


@dataclass(frozen=True)
class AppKeys:
    private_pem: str
    public_pem: str


@dataclass(frozen=True)
class FakeApp:
    """A GitHub App the fake GitHub knows: what Tingle would be configured with."""

    app_id: int
    private_key: str  # PEM
    installation_id: int  # the first of `installations`
    installations: tuple[int, ...]


@pytest.fixture(scope="session")
def fake_github_server() -> Iterator[FakeGitHub]:
    """One fake GitHub server for the whole session: starting uvicorn costs tens of milliseconds."""
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def fake_github(fake_github_server: FakeGitHub) -> FakeGitHub:
    """The session's fake GitHub, emptied for this test. Its API root is `fake_github.base_url`."""
    fake_github_server.reset()
    return fake_github_server


@pytest.fixture(scope="session")
def github_app_keys() -> AppKeys:
    """An RSA key pair (made once per session: generating one takes a noticeable moment)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # what GitHub hands out
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return AppKeys(private.decode(), public.decode())


@pytest.fixture
def github_app(fake_github: FakeGitHub, github_app_keys: AppKeys) -> FakeApp:
    """A GitHub App registered on the fake GitHub, installed twice (ids 1001 and 1002)."""
    app = FakeApp(
        app_id=4242,
        private_key=github_app_keys.private_pem,
        installation_id=1001,
        installations=(1001, 1002),
    )
    fake_github.register_app(app.app_id, github_app_keys.public_pem, app.installations)
    return app


@pytest.fixture(scope="session")
def styx_server() -> Iterator[FakeStyx]:
    """One fake Styx for the whole session."""
    with FakeStyx() as fake:
        yield fake


@pytest.fixture
def styx(styx_server: FakeStyx) -> FakeStyx:
    """The session's fake Styx, emptied, accepting only STYX_TOKEN."""
    styx_server.reset()
    styx_server.accept_tokens(STYX_TOKEN)
    return styx_server
