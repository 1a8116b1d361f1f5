from __future__ import annotations

import dataclasses

import pytest

from tests.web.records import Records
from tingle.settings import Settings

ADMIN_TOKEN = "test-admin-token-0123456789"


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The root settings, with the admin token when the test asks for `admin_token`, and
    protected reading for tests marked `protected`."""
    return dataclasses.replace(
        settings,
        admin_token=ADMIN_TOKEN if "admin_token" in request.fixturenames else "",
        public_read=request.node.get_closest_marker("protected") is None,
    )


@pytest.fixture
def records(redis_url: str) -> Records:
    return Records(redis_url)


@pytest.fixture
def admin_token() -> str:
    """The admin token the web app of this test accepts (see `settings`)."""
    return ADMIN_TOKEN
