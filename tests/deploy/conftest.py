from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.fakes.styx import FakeStyx
from tingle.deploy import StaticToken, StyxClient

TOKEN = "styx-test-token"


@pytest.fixture(scope="session")
def styx_server() -> Iterator[FakeStyx]:
    with FakeStyx() as fake:
        yield fake


@pytest.fixture
def styx(styx_server: FakeStyx) -> FakeStyx:
    """The session's fake Styx, emptied, accepting only TOKEN."""
    styx_server.reset()
    styx_server.accept_tokens(TOKEN)
    return styx_server


@pytest.fixture
async def client(styx: FakeStyx) -> AsyncIterator[StyxClient]:
    async with StyxClient(styx.base_url, StaticToken(TOKEN), timeout=10) as styx_client:
        yield styx_client
