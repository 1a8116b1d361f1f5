"""What `tingle trigger` reads from a local git repository, and the push of its commit into the
bare copy `tingle up` builds from (tingle.cli.local_repos). Git runs as the user runs it (their
configuration), on their own repository; every path is absolute, so none reads as an option."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

NULL_SHA = "0" * 40


class GitError(Exception):
    """A one-line reason `tingle trigger` cannot go on."""


@dataclass(frozen=True)
class LocalCommit:
    sha: str
    message: str
    author_name: str
    author_email: str
    timestamp: str  # ISO 8601, as GitHub's head_commit.timestamp


def git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise GitError(lines[-1] if lines else f"git {args[0]} exited with {done.returncode}")
    return done.stdout.strip()


def top_level(path: Path) -> Path:
    """The root of the work tree `path` is in."""
    if not path.is_dir():
        raise GitError(f"{path}: no such folder")
    try:
        return Path(git(path.resolve(), "rev-parse", "--show-toplevel"))
    except GitError:
        raise GitError(f"{path} is not in a git repository") from None


def current_branch(repo: Path) -> str:
    try:
        return git(repo, "symbolic-ref", "--quiet", "--short", "HEAD")
    except GitError:
        raise GitError(f"{repo}: HEAD is detached; name the branch with --branch") from None


def branch_tip(repo: Path, branch: str) -> str | None:
    """The commit `branch` points at in `repo`, None when there is no such branch."""
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
    except GitError:
        return None


def default_branch(repo: Path, fallback: str) -> str:
    """What GitHub would call the default branch: main or master when there is one."""
    return next((name for name in ("main", "master") if branch_tip(repo, name)), fallback)


def commit(repo: Path, sha: str) -> LocalCommit:
    fields = git(repo, "show", "-s", "--format=%H%x00%an%x00%ae%x00%aI%x00%B", sha)
    full, name, email, when, message = fields.split("\0", 4)
    return LocalCommit(full, message.strip(), name, email, when)


def has_uncommitted_changes(repo: Path) -> bool:
    return bool(git(repo, "status", "--porcelain", "--untracked-files=no"))


def push_to_copy(repo: Path, sha: str, branch: str, copy: Path) -> str:
    """Puts `sha` on `branch` of the bare repository `copy` (made when missing), whatever was
    there; returns what the branch pointed at before (NULL_SHA when it is new)."""
    if not (copy / "HEAD").exists():
        copy.mkdir(parents=True, exist_ok=True)
        git(copy, "init", "--quiet", "--bare")
    before = branch_tip(copy, branch) or NULL_SHA
    git(repo, "push", "--quiet", "--force", copy.as_uri(), f"{sha}:refs/heads/{branch}")
    return before
