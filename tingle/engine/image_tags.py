"""Which images a build may write: only `<registry>/<owner>/<repo>`, where the registry is the
operator's (TINGLE_REGISTRY), never the repository's; tagged with the commit's short sha, plus the
branch on a push to the default branch. Tingle owns this scheme: a `tags` list (a template's) may
only repeat it, and anything else is refused at the step, the last gate before the engine.

Agent and base images live under a prefix (TINGLE_AGENT_IMAGE_PREFIX, `tingle/...`) that must lie
outside the builds' registry namespace, so no build can ever overwrite one; each tag is checked
against it too. Names are compared as the engine resolves them (`tingle/x` is
`docker.io/tingle/x`), lower-case."""

from __future__ import annotations

from typing import Protocol

from tingle.errors import DeliveryError, SettingError
from tingle.executor.images import add_branch_tag, split_reference

SHORT_SHA = 12


class Tagged(Protocol):
    """What the tags depend on: a Build, or (for `tingle plan`) a plan's BuildFacts."""

    @property
    def repo(self) -> str: ...
    @property
    def sha(self) -> str: ...
    @property
    def event(self) -> str: ...
    @property
    def branch(self) -> str | None: ...
    @property
    def default_branch(self) -> str | None: ...


_DOCKER_HUB = ("docker.io/", "index.docker.io/", "registry-1.docker.io/")


def canonical(name: str) -> str:
    """`name` as the engine resolves it: `tingle/x` → `docker.io/tingle/x`, `ubuntu` →
    `docker.io/library/ubuntu`, lower-case."""
    name = name.strip().lower()
    for hub in _DOCKER_HUB:
        if name.startswith(hub):
            name = name[len(hub) :]
            break
    else:
        first, sep, _ = name.partition("/")
        if sep and ("." in first or ":" in first or first == "localhost"):
            return name  # on a registry of its own
    if "/" not in name:
        name = "library/" + name
    return "docker.io/" + name


def check_namespaces(registry: str, agent_image_prefix: str) -> None:
    """Refuse a configuration where a build could write an agent or base image: the agent prefix
    may never equal or lie under the builds' registry namespace (SettingError, at start-up)."""
    if not registry.strip():
        raise SettingError("TINGLE_REGISTRY", "empty: builds need a registry to push to")
    suffix = "owner/x"  # any repository: where builds' images go, e.g. "reg:5000/"
    builds = canonical(f"{registry.rstrip('/')}/{suffix}").removesuffix(suffix)
    agents = canonical(agent_image_prefix)
    if agents.startswith(builds) or builds.startswith(agents):
        raise SettingError(
            "TINGLE_AGENT_IMAGE_PREFIX",
            f"'{agent_image_prefix}' is inside TINGLE_REGISTRY '{registry}', where builds push "
            "their images: a build could replace an agent",
        )


def image_repository(registry: str, repo: str) -> str:
    """`<registry>/<owner>/<repo>`, the one repository a build of `repo` may write."""
    return f"{registry.rstrip('/')}/{repo.lower()}"


def build_tags(
    requested: tuple[str, ...], build: Tagged, *, registry: str, agent_image_prefix: str
) -> tuple[str, ...]:
    """The tags `build` writes: `<registry>/<owner>/<repo>:<short sha>`, plus `:<branch>` on a
    push to the default branch. `requested` (a step's `tags`) may only repeat the first; any other
    tag raises DeliveryError (the step fails, saying why)."""
    repository = image_repository(registry, build.repo)
    own = f"{repository}:{build.sha[:SHORT_SHA]}"
    for tag in requested:
        if tag != own:
            raise DeliveryError(
                f"image tag '{tag}' refused: a build of {build.repo} may only tag {own} "
                "(Tingle adds the branch's tag on the default branch; the registry is the "
                "operator's TINGLE_REGISTRY)"
            )
    on_default = build.event == "push" and build.branch == build.default_branch
    tags = add_branch_tag((own,), build.branch) if on_default and build.branch else (own,)
    agents = canonical(agent_image_prefix)
    for tag in tags:
        if canonical(split_reference(tag)[0]).startswith(agents):
            raise DeliveryError(f"image tag '{tag}' refused: it would name an agent image")
    return tags
