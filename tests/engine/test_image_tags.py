"""The delivery steps' own gate on image names (issue 13, item 1), on the fake engine: whatever
the plan says, a build writes only `<TINGLE_REGISTRY>/<owner>/<repo>`, never an agent image, and a
fork's build pushes nothing and is built without registry credentials.

On the code before: `_tags` passed any tag through (the agent's and another repository's images
were built and pushed) and a fork's push step pushed; each assertion below failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.fake_engine import FakeEngine
from tests.engine.helpers import a_build
from tingle.engine.delivery import DeliveryConfig, DeliverySteps, StepContext
from tingle.engine.factory import engine_options
from tingle.engine.image_tags import canonical, check_namespaces
from tingle.plan import BuildImageStep, PushImageStep
from tingle.secrets import StepSecrets
from tingle.settings import Settings

SHA_TAG = f"reg:5000/octo/app:{'a' * 12}"


def delivery(engine: FakeEngine) -> DeliverySteps:
    return DeliverySteps(engine, DeliveryConfig(registry="reg:5000"))


def context(tmp_path: Path, lines: list[str], **build: object) -> StepContext:
    (tmp_path / "Dockerfile").write_text("FROM base\n")

    async def say(line: str) -> None:
        lines.append(line)

    return StepContext(a_build(**build), tmp_path, "http://t/b/7", say, StepSecrets())


@pytest.mark.parametrize(
    "tag", ["tingle/agent-python:latest", "reg:5000/acme/app:main", "reg:5000/octo/app:main"]
)
async def test_a_tag_outside_the_scheme_fails_the_step_and_touches_nothing(
    tmp_path: Path, tag: str
) -> None:
    engine, lines = FakeEngine(), list[str]()
    at = context(tmp_path, lines)
    for step in (BuildImageStep("build", (tag,)), PushImageStep("push", (tag,))):
        result = await delivery(engine).run(step, at)
        assert result.exit_code == 1
        assert result.message is not None and result.message.startswith(
            f"image tag '{tag}' refused: a build of octo/app may only tag {SHA_TAG}"
        )
    assert (engine.built, engine.pushed) == ([], [])


async def test_the_own_tag_builds_with_the_branch_tag_on_the_default_branch(
    tmp_path: Path,
) -> None:
    engine, lines = FakeEngine(), list[str]()
    result = await delivery(engine).run(BuildImageStep("build", ()), context(tmp_path, lines))
    assert result.ok
    [image] = engine.built
    assert image.tags == (SHA_TAG, "reg:5000/octo/app:main")
    assert image.credentials


async def test_a_fork_builds_without_credentials_and_never_pushes(tmp_path: Path) -> None:
    engine, lines = FakeEngine(), list[str]()
    at = context(tmp_path, lines, event="pull_request", is_fork=True, branch="feature")
    assert (await delivery(engine).run(BuildImageStep("build", ()), at)).ok
    [image] = engine.built
    assert (image.tags, image.credentials) == ((SHA_TAG,), False)  # no branch tag either

    result = await delivery(engine).run(PushImageStep("push", (SHA_TAG,)), at)
    assert (result.exit_code, result.message) == (
        1,
        "a pull request from a fork never pushes images",
    )
    assert engine.pushed == []


def test_the_agent_prefix_may_never_lie_in_the_builds_registry() -> None:
    check_namespaces("reg:5000", "tingle/agent-")
    check_namespaces("reg:5000", "reg:6000/agent-")
    for registry, prefix in [
        ("reg:5000", "reg:5000/agent-"),
        ("reg:5000", "reg:5000/"),
        ("docker.io", "tingle/agent-"),
        ("docker.io/tingle", "tingle/agent-"),
        ("index.docker.io", "TINGLE/agent-"),
    ]:
        with pytest.raises(ValueError, match="builds push their images"):
            check_namespaces(registry, prefix)
    with pytest.raises(ValueError, match="agent"):
        DeliverySteps(FakeEngine(), DeliveryConfig(registry="docker.io"))
    with pytest.raises(ValueError, match="agent"):  # a worker does not start
        engine_options(Settings(registry="docker.io"), worker="w:1")


def test_names_compare_as_the_engine_resolves_them() -> None:
    assert canonical("tingle/agent-python") == "docker.io/tingle/agent-python"
    assert canonical("docker.io/Tingle/agent-python") == "docker.io/tingle/agent-python"
    assert canonical("busybox") == "docker.io/library/busybox"
    assert canonical("localhost:5000/acme/app") == "localhost:5000/acme/app"
