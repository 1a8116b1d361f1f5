"""Images as the runtime sees them, whatever engine builds them: what to build (`ImageBuild`), what
a push recorded (`PushedImage`), registry credentials, and the tags and labels Tingle gives them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BUILD_URL_LABEL = "tingle.build.url"


@dataclass(frozen=True)
class RegistryAuth:
    username: str
    password: str


@dataclass(frozen=True)
class PushedImage:
    repository: str  # "127.0.0.1:5000/daily-reports"
    tag: str
    digest: str  # "sha256:..."

    @property
    def pinned(self) -> str:  # the reference that can never move: `repository@sha256:...`
        return f"{self.repository}@{self.digest}"


def split_reference(reference: str) -> tuple[str, str]:
    """`host:5000/name:tag` → (`host:5000/name`, `tag`); the tag is "latest" when absent."""
    name = reference.split("@", 1)[0]
    repository, sep, tag = name.rpartition(":")
    return (repository, tag) if sep and "/" not in tag else (name, "latest")


def add_branch_tag(tags: Sequence[str], branch: str) -> tuple[str, ...]:
    """`tags` plus `<repository>:<branch>` for each repository in them (for the default branch);
    the branch made a valid tag: `feature/x` → `feature-x`."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", branch).lstrip(".-")[:128] or "branch"
    repositories = dict.fromkeys(split_reference(tag)[0] for tag in tags)
    return tuple(dict.fromkeys([*tags, *(f"{repo}:{name}" for repo in repositories)]))


def image_labels(
    *, revision: str, source: str, build_url: str, created: datetime | None = None
) -> dict[str, str]:
    moment = (created or datetime.now(UTC)).astimezone(UTC)  # RFC 3339, as OCI asks
    return {
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.source": source.removesuffix(".git"),
        "org.opencontainers.image.created": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        BUILD_URL_LABEL: build_url,
    }


@dataclass(frozen=True)
class ImageBuild:
    """What to build: `dockerfile` with `context` (both relative to `workspace`), tagged `tags`.
    `cache_from` names earlier images whose layers may be reused (only those present or
    pullable are used)."""

    workspace: Path
    tags: tuple[str, ...]
    dockerfile: str = "Dockerfile"
    context: str = "."
    build_args: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    cache_from: tuple[str, ...] = ()
    credentials: bool = True  # False: an untrusted build (a fork's), built without registry auth
