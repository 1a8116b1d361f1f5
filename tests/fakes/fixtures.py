"""pytest fixtures for the fakes.

Use them from a conftest.py: `from tests.fakes.fixtures import fake_github, fake_github_server`
(both names, as the first depends on the second), or `pytest_plugins = ["tests.fakes.fixtures"]`
in the root conftest.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.github import FakeGitHub


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
