"""Issue 18, item 5: a failed checkout says git's first meaningful line (the cause), not its last
(advice such as "and the repository exists."), and never a credential, on real git.

Before the change: a missing repository ended the build with "checkout failed: git failed: and
the repository exists.", and a commit a server would not serve by id with "commit ... not found"
and no word of why.
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest

from testing.git_https import serve_git_https
from testing.gitrepo import GitRepo
from tingle.engine.checkout import CheckoutError
from tingle.engine.runner import git_fetch
from tingle.errors import PathError

TOKEN = "ghs_clone-token-5f1e9a77"
BASIC = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()


def fetch(url: str, sha: str, workspace: Path, token: str = "") -> None:
    """The checkout as the worker runs it."""

    async def run() -> None:
        await git_fetch(url, sha, token)(workspace)

    asyncio.run(run())


def reason_of(url: str, sha: str, workspace: Path, token: str = "") -> str:
    """What the build's reason says when this checkout fails."""
    with pytest.raises(CheckoutError) as failure:
        fetch(url, sha, workspace, token)
    return str(failure.value)


def test_a_missing_repository_is_named_not_git_s_advice(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-repo.git"
    reason = reason_of(missing.as_uri(), "a" * 40, tmp_path / "ws")
    assert reason == (
        f"checkout failed: git fetch: fatal: '{missing}' does not appear to be a git repository"
    )


def test_a_commit_the_server_will_not_serve_says_why(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit({"README.md": "hi\n"})
    unknown = "1" * 40
    reason = reason_of(repo.url, unknown, tmp_path / "ws")
    assert reason.startswith(f"checkout failed: commit 111111111111 not found in {repo.url} (")
    # Over file:// the server's upload-pack and the client both say it on one stderr, in
    # either order: "fatal: git upload-pack: ..." or "fatal: remote error: upload-pack: ...".
    assert f"upload-pack: not our ref {unknown})" in reason


def test_private_repository_failures_name_their_cause_and_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "served"
    sha = GitRepo(root / "acme" / "private.git").commit({"README.md": "private\n"})
    with serve_git_https(root, TOKEN, tmp_path) as server:
        monkeypatch.setenv("GIT_SSL_CAINFO", str(server.certificate))
        url = f"{server.url}/acme/private.git"
        anonymous = reason_of(url, sha, tmp_path / "a")
        missing = reason_of(f"{server.url}/acme/gone.git", sha, tmp_path / "b", TOKEN)
        # A mirror rewrite with the credential in the URL, and a clone token beside it: wrong.
        in_url = server.url.replace("https://", f"https://x-access-token:{TOKEN}x@")
        wrong = reason_of(f"{in_url}/acme/private.git", sha, tmp_path / "c", TOKEN + "x")

    host = server.url.removeprefix("https://")
    assert anonymous == (
        f"checkout failed: git fetch: fatal: could not read Username for 'https://{host}': "
        "terminal prompts disabled"
    )
    assert (
        missing
        == f"checkout failed: git fetch: fatal: repository '{server.url}/acme/gone.git/' not found"
    )
    assert wrong == (f"checkout failed: git fetch: fatal: Authentication failed for '{url}/'")
    wrong_basic = base64.b64encode(f"x-access-token:{TOKEN}x".encode()).decode()
    for reason in (anonymous, missing, wrong):
        assert TOKEN not in reason and BASIC not in reason and wrong_basic not in reason


def test_a_workspace_that_cannot_be_made_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "root"
    blocker.write_text("a file where the workspace root should be\n")
    repo = GitRepo(tmp_path / "repo")
    sha = repo.commit({"README.md": "hi\n"})
    with pytest.raises(PathError) as failure:
        fetch(repo.url, sha, blocker / "build-1")
    assert str(failure.value) == (
        f"cannot make the build's workspace {blocker / 'build-1'}: not a directory"
    )
