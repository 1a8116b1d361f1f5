from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from testing.fakes.styx import FakeStyx
from tests.fakes.fixtures import STYX_TOKEN
from tingle.deploy import StaticToken, StyxClient

TOKEN = STYX_TOKEN  # the `styx` fixture (tests/fakes/fixtures.py) accepts this one only


@pytest.fixture
async def client(styx: FakeStyx) -> AsyncIterator[StyxClient]:
    async with StyxClient(styx.base_url, StaticToken(TOKEN), timeout=10) as styx_client:
        yield styx_client
