from __future__ import annotations

import pytest

from tests.web.records import Records

ADMIN_TOKEN = "test-admin-token-0123456789"


@pytest.fixture(autouse=True)
def _web_access_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start from the defaults (public reading, no admin token), whatever the shell has."""
    monkeypatch.delenv("TINGLE_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("TINGLE_PUBLIC_READ", raising=False)


@pytest.fixture
def records(redis_url: str) -> Records:
    return Records(redis_url)


@pytest.fixture
def admin_token(monkeypatch: pytest.MonkeyPatch) -> str:
    """Sets TINGLE_ADMIN_TOKEN (read per request by tingle.web.auth) for this test."""
    monkeypatch.setenv("TINGLE_ADMIN_TOKEN", ADMIN_TOKEN)
    return ADMIN_TOKEN
