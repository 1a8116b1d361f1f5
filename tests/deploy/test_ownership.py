"""A repository deploys only into its own Styx component, and never replaces a workflow another
repository deployed (issue 13, item 7). deploy() against the Styx fake over real HTTP."""

from __future__ import annotations

import dataclasses

import pytest

from testing.fakes.styx import FakeStyx
from tests.deploy.test_deploy import INFO, RELEASE, Log
from tingle.deploy import StyxClient, default_component_id, deploy
from tingle.errors import DeliveryError


def test_the_component_id_includes_the_owner_and_never_collides() -> None:
    assert default_component_id("acme/reports") == "acme--reports"
    assert default_component_id("a-b/c") == "a-b--c"
    assert default_component_id("a/b-c") == "a--b-c"
    assert default_component_id("a/b--c") == "a--b--c"  # the first `--` is the boundary
    for name in ("a--b/c", "-a/b", "a-/b", "a/", "ab", "a/b/c", "a.b/c"):
        with pytest.raises(DeliveryError, match="not a GitHub repository name"):
            default_component_id(name)


async def test_another_repository_deploys_into_its_own_component(
    styx: FakeStyx, client: StyxClient
) -> None:
    await deploy(client, INFO, RELEASE, log=Log())
    theirs = dataclasses.replace(RELEASE, image=RELEASE.image.replace("a" * 64, "b" * 64))
    other = dataclasses.replace(theirs, repository="other/daily-reports")
    await deploy(client, INFO, other, log=Log())
    assert styx.workflow_ids("acme--daily-reports") == ["daily-report", "hourly-sync"]
    assert styx.workflow_ids("other--daily-reports") == ["daily-report", "hourly-sync"]
    ours = styx.workflow("acme--daily-reports", "daily-report")
    assert ours is not None and ours["docker_image"] == RELEASE.image


async def test_a_workflow_deployed_from_another_repository_is_never_updated(
    styx: FakeStyx, client: StyxClient
) -> None:
    forged = {
        "id": "hourly-sync",
        "schedule": "hourly",
        "deployment_source": {"repository": "other/daily-reports", "source": "tingle"},
    }
    styx.add_workflow("acme--daily-reports", forged)
    log = Log()
    with pytest.raises(DeliveryError) as refused:
        await deploy(client, INFO, RELEASE, log=log)
    assert str(refused.value) == (
        "workflow hourly-sync in component acme--daily-reports was deployed from "
        "other/daily-reports, not acme/daily-reports: not updating it "
        "(it belongs to other/daily-reports)"
    )
    assert not refused.value.infrastructure  # the repository's to sort out: a failure
    assert [call.split()[0] for call in styx.calls()] == ["GET"]  # nothing was changed
    assert styx.workflow_ids("acme--daily-reports") == ["hourly-sync"]
