"""Repositories on this machine, built by `tingle up` as if they were on GitHub.

`tingle trigger` pushes a local repository's commit into a bare copy under the state directory,
`<state>/repos/local/<name>.git` (as one pushes to GitHub), then sends the webhook for
`local/<name>`. The worker derives the clone URL from the repository's name, as always
(`<TINGLE_GITHUB_URL>/local/<name>.git`), and `tingle up` rewrites exactly that owner's URLs to
those copies: a webhook can make it fetch only what `tingle trigger` put there.
"""

from __future__ import annotations

import re
from pathlib import Path

LOCAL_OWNER = "local"


def repository_name(folder: str) -> str:
    """A name for the repository in `folder` that is both a GitHub name and a Docker image path
    component (images are `<registry>/local/<name>`): lower-case letters and digits, single
    hyphens between them."""
    name = "-".join(re.findall(r"[a-z0-9]+", folder.lower()))
    return name[:100].strip("-") or "repo"


def full_name(folder: str) -> str:
    return f"{LOCAL_OWNER}/{repository_name(folder)}"


def mirrors_dir(state_dir: Path) -> Path:
    return state_dir.resolve() / "repos" / LOCAL_OWNER


def mirror_path(state_dir: Path, name: str) -> Path:
    """The bare copy of `local/<name>`."""
    return mirrors_dir(state_dir) / f"{repository_name(name)}.git"


def clone_url_rewrite(github_url: str, state_dir: Path) -> tuple[str, str]:
    """The rewrite (`from`, `to`) that sends the worker's clones of `local/*` to the copies."""
    return f"{github_url.rstrip('/')}/{LOCAL_OWNER}/", f"{mirrors_dir(state_dir).as_uri()}/"
