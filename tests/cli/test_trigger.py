"""`tingle trigger`: a local repository's commit pushed into the copy `tingle up` builds from, and
its webhook signed as GitHub signs it, sent to the real web app; every failure one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from testing.gitrepo import GitRepo
from testing.servers import free_port
from tests.conftest import WEBHOOK_SECRET
from tingle.cli.local_repos import clone_url_rewrite, mirror_path
from tingle.engine.checkout import checkout
from tingle.forge.repo_names import clone_url
from tingle.settings import Settings


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    (path / "webhook-secret").write_text(WEBHOOK_SECRET + "\n")  # as tingle up keeps it
    return path


@pytest.fixture
def local_repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "Hello_World")
    repo.commit({"build-info.yaml": "version: 2\n"}, message="first\n\nbody")
    return repo


def trigger(*args: str, secret: str | None = None) -> tuple[int, str, str]:
    """`tingle trigger ARGS` as a user runs it (its own process: the web app's logs in this one
    stay out of its output)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINGLE_")}
    if secret is not None:
        env["TINGLE_WEBHOOK_SECRET"] = secret
    done = subprocess.run(
        [sys.executable, "-m", "tingle.cli", "trigger", *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout.strip(), done.stderr.strip()


def git_dir(bare: Path, *args: str) -> str:
    return subprocess.run(
        ["git", f"--git-dir={bare}", *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def build(web: str, line: str) -> dict[str, Any]:
    build_id = line.rsplit("/", 1)[-1]
    answer = httpx.get(f"{web}/api/builds/{build_id}")
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


def test_a_push_is_signed_accepted_and_its_commit_is_in_the_copy(
    web: str, state_dir: Path, local_repo: GitRepo
) -> None:
    sha = local_repo.git("rev-parse", "HEAD")
    code, out, err = trigger(str(local_repo.path), "--url", web, "--state-dir", str(state_dir))
    assert (code, err) == (0, "")
    assert out.startswith("build queued: http://tingle.test/builds/")
    record = build(web, out)
    assert (record["repo"], record["sha"], record["branch"]) == ("local/hello-world", sha, "main")
    assert record["event"] == "push"
    copy = mirror_path(state_dir, "hello-world")
    assert git_dir(copy, "rev-parse", "refs/heads/main") == sha
    # The same commit again (from a folder inside the repository): one event, built once.
    (local_repo.path / "sub").mkdir()
    code, again, _ = trigger(
        str(local_repo.path / "sub"), "--url", web, "--state-dir", str(state_dir)
    )
    assert (code, again) == (0, out.replace("build queued:", "already built:"))


async def test_the_worker_fetches_the_commit_through_the_rewrite_tingle_up_sets(
    web: str, state_dir: Path, local_repo: GitRepo, tmp_path: Path
) -> None:
    assert trigger(str(local_repo.path), "--url", web, "--state-dir", str(state_dir))[0] == 0
    settings = Settings(clone_url_rewrites=(clone_url_rewrite(Settings().github_url, state_dir),))
    url = settings.rewrite_clone_url(clone_url(settings.github_url, "local/hello-world"))
    sha = local_repo.git("rev-parse", "HEAD")
    await checkout(url, sha, tmp_path / "workspace")
    assert (tmp_path / "workspace" / "build-info.yaml").read_text() == "version: 2\n"


def test_a_wrong_secret_gets_401_and_one_line(
    web: str, state_dir: Path, local_repo: GitRepo
) -> None:
    code, out, err = trigger(
        str(local_repo.path), "--url", web, "--state-dir", str(state_dir), secret="not-the-secret"
    )  # fmt: skip  (wins over the state dir's)
    assert (code, out) == (1, "")
    assert err.startswith("tingle trigger: ")
    assert "refused the signature (401)" in err
    assert len(err.splitlines()) == 1
    assert httpx.get(f"{web}/api/repos").json()["items"] == []  # no build recorded


def test_a_pull_request_names_its_branch_and_number(
    web: str, state_dir: Path, local_repo: GitRepo
) -> None:
    local_repo.git("switch", "--quiet", "-c", "feature")
    sha = local_repo.commit({"x.txt": "x"})
    code, out, err = trigger(
        str(local_repo.path),
        "--event",
        "pull_request",
        "--pr",
        "12",
        "--url",
        web,
        "--state-dir",
        str(state_dir),
    )
    assert code == 0, err
    record = build(web, out)
    assert (record["event"], record["pr_number"], record["sha"]) == ("pull_request", 12, sha)
    assert record["branch"] == "feature"
    code, _, err = trigger(
        str(local_repo.path),
        "--event",
        "pull_request",
        "--branch",
        "main",
        "--url",
        web,
        "--state-dir",
        str(state_dir),
    )
    assert code == 1
    assert "needs a branch other than 'main'" in err


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("not-a-repo", "is not in a git repository"),
        ("missing", "no such folder"),
        ("detached", "HEAD is detached"),
        ("no-branch", "has no branch 'nope'"),
        ("not-running", "no Tingle answers at"),
        ("no-secret", "no webhook secret in"),
    ],
)
def test_each_failure_is_one_clear_line(
    setup: str, expected: str, tmp_path: Path, state_dir: Path, local_repo: GitRepo
) -> None:
    path, url, extra = local_repo.path, "http://127.0.0.1:1", ["--branch", "main"]
    if setup == "not-a-repo":
        (path := tmp_path / "plain").mkdir()
    elif setup == "missing":
        path = tmp_path / "nowhere"
    elif setup == "detached":
        local_repo.git("switch", "--quiet", "--detach", "HEAD")
        extra = []
    elif setup == "no-branch":
        extra = ["--branch", "nope"]
    elif setup == "not-running":
        url = f"http://127.0.0.1:{free_port()}"
    elif setup == "no-secret":
        (state_dir / "webhook-secret").unlink()
    code, out, err = trigger(str(path), *extra, "--url", url, "--state-dir", str(state_dir))
    assert (code, out) == (1, "")
    assert expected in err
    assert len(err.splitlines()) == 1


def test_a_hostile_folder_name_becomes_a_plain_repository_name(
    web: str, state_dir: Path, tmp_path: Path
) -> None:
    repo = GitRepo(tmp_path / "--upload-pack=touch pwned; ..")
    repo.commit({"a": "a"})
    code, out, err = trigger(str(repo.path), "--url", web, "--state-dir", str(state_dir))
    assert code == 0, err
    assert build(web, out)["repo"] == "local/upload-pack-touch-pwned"
    assert not (tmp_path / "pwned").exists()
    assert [p.name for p in (state_dir / "repos" / "local").iterdir()] == [
        "upload-pack-touch-pwned.git"
    ]


def test_the_url_tingle_up_wrote_is_used_without_url(
    web: str, state_dir: Path, local_repo: GitRepo
) -> None:
    (state_dir / "web-url").write_text(web + "\n")
    code, out, err = trigger(str(local_repo.path), "--state-dir", str(state_dir))
    assert code == 0, err
    assert json.dumps(build(web, out)["repo"]) == '"local/hello-world"'
