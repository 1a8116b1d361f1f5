"""Issue 13, item 3, on real git: what a webhook says never reaches git as an option or a
protocol, and the clone token is never on git's command line (which `ps` shows every user).

On the code before the change: `--upload-pack=touch X` as the URL ran `touch X` (git took it for
an option), `ext::sh -c ...` was refused by git's own default only, and the token was passed as
`-c http.extraHeader=Authorization: Basic <base64>` on the command line, so the recorded argv held
the base64 of the token (and the https clone failed: GIT_SSL_CAINFO was not passed on).
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest

from testing.git_https import serve_git_https
from testing.gitrepo import GitRepo
from tingle.engine.checkout import CheckoutError, checkout

TOKEN = "ghs_private-clone-token-8d2b41f0"


def sha_of(repo: GitRepo) -> str:
    return repo.commit({"README.md": "private\n"})


@pytest.mark.parametrize(
    "url",
    [
        "--upload-pack=touch {marker}",
        "ext::sh -c touch% {marker}",
        "file:///nonexistent/--upload-pack=touch {marker}",
    ],
)
def test_a_url_that_is_an_option_or_a_command_runs_nothing(tmp_path: Path, url: str) -> None:
    marker = tmp_path / "X"
    sha = sha_of(GitRepo(tmp_path / "repo"))
    with pytest.raises(CheckoutError):
        asyncio.run(checkout(url.format(marker=marker), sha, tmp_path / "ws"))
    assert not marker.exists()


@pytest.mark.parametrize("sha", ["--help", "HEAD", "main", "0" * 39, "g" * 40, "-" + "0" * 39])
def test_only_a_full_object_name_is_checked_out(tmp_path: Path, sha: str) -> None:
    repo = GitRepo(tmp_path / "repo")
    sha_of(repo)
    with pytest.raises(CheckoutError, match="not a commit sha"):
        asyncio.run(checkout(repo.url, sha, tmp_path / "ws"))


def test_a_private_clone_sends_the_token_in_a_header_never_on_a_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "served"
    repo = GitRepo(root / "acme" / "private.git")
    sha = sha_of(repo)
    with serve_git_https(root, TOKEN, tmp_path) as server:
        monkeypatch.setenv("GIT_SSL_CAINFO", str(server.certificate))  # the operator's CA
        url = f"{server.url}/acme/private.git"
        with pytest.raises(CheckoutError):  # no token: the server says 401
            asyncio.run(checkout(url, sha, tmp_path / "anonymous"))
        asyncio.run(checkout(url, sha, tmp_path / "ws", token=TOKEN))
        seen = server.seen

    assert (tmp_path / "ws" / "README.md").read_text() == "private\n"
    basic = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert f"Basic {basic}" in seen.authorizations  # the token did reach the server
    # Every git process on the machine is looked at for the token; only ours for the rest (a
    # build or benchmark elsewhere on the machine may be fetching too).
    ours = [url in argv for argv in seen.argvs]
    fetches = [
        argv for argv, mine in zip(seen.argvs, ours, strict=True) if mine and "fetch" in argv
    ]
    assert fetches, seen.argvs  # git was running while the server answered
    for argv, mine in zip(seen.argvs, ours, strict=True):
        line = " ".join(argv)
        assert TOKEN not in line and basic not in line, argv
        if mine and "fetch" in argv:
            assert argv[argv.index("--end-of-options") + 1] == url
            assert "protocol.allow=never" in argv and "protocol.https.allow=always" in argv
    # Where it went instead: git's environment, scoped to the server's host.
    given = [
        env
        for argv, env in zip(seen.argvs, seen.environments, strict=True)
        if "fetch" in argv and url in argv
    ]
    assert {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{server.url}/.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
    }.items() <= given[-1].items()
