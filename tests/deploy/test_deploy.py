"""deploy() against the Styx fake over real HTTP: create and enable, update, delete, errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from testing.fakes.styx import FakeStyx
from tests.deploy.conftest import TOKEN
from tingle.deploy import (
    Release,
    StaticToken,
    StyxClient,
    Workflow,
    deploy,
    parse_data_info,
)
from tingle.deploy.datainfo import DataInfo
from tingle.errors import DeliveryError

REPO = "acme/daily-reports"
DIGEST = "sha256:" + "a" * 64
IMAGE = f"127.0.0.1:5000/daily-reports@{DIGEST}"
RELEASE = Release(
    image=IMAGE, commit_sha="3f786850e387550fdab836ed7e6dc881de23001b", repository=REPO
)
INFO = parse_data_info(
    """
facts:
  workflows:
    - id: daily-report
      schedule: daily
      docker_args: [report, "{}"]
      env: {MODE: full}
    - id: hourly-sync
      schedule: "0 * * * *"
      running_timeout: PT2H
"""
)


def stored(styx: FakeStyx, workflow_id: str) -> dict[str, Any]:
    config = styx.workflow("acme--daily-reports", workflow_id)
    assert config is not None, f"{workflow_id} is not stored"
    return config


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    async def __call__(self, line: str) -> None:
        self.lines.append(line)


async def test_first_deploy_creates_and_enables_each_workflow(
    styx: FakeStyx, client: StyxClient
) -> None:
    log = Log()
    summary = await deploy(client, INFO, RELEASE, log=log)
    base = "/api/v3/workflows/acme--daily-reports"
    assert styx.calls() == [
        f"GET {base}",
        f"POST {base}",
        f"PATCH {base}/daily-report/state",
        f"POST {base}",
        f"PATCH {base}/hourly-sync/state",
    ]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in styx.requests)
    assert styx.workflow("acme--daily-reports", "daily-report") == {
        "id": "daily-report",
        "schedule": "days",
        "docker_args": ["report", "{}"],
        "env": {"MODE": "full"},
        "docker_image": IMAGE,
        "commit_sha": RELEASE.commit_sha,
        "deployment_source": {"repository": REPO, "source": "tingle"},
    }
    assert stored(styx, "hourly-sync")["running_timeout"] == 7200
    assert styx.enabled("acme--daily-reports", "daily-report")
    assert styx.enabled("acme--daily-reports", "hourly-sync")
    assert summary.created == ("daily-report", "hourly-sync") and not summary.updated
    assert summary.describe() == "styx acme--daily-reports: 2 created"
    assert log.lines == [
        "styx: component acme--daily-reports: 2 workflow(s) in data-info.yaml, 0 deployed; "
        f"image {IMAGE}",
        "styx: created daily-report (daily)",
        "styx: enabled daily-report",
        "styx: created hourly-sync (0 * * * *)",
        "styx: enabled hourly-sync",
        "styx acme--daily-reports: 2 created",
    ]


async def test_a_redeploy_updates_without_enabling_again(
    styx: FakeStyx, client: StyxClient
) -> None:
    await deploy(client, INFO, RELEASE, log=Log())
    styx.set_enabled("acme--daily-reports", "hourly-sync", False)  # a human paused it
    styx.requests.clear()
    newer = Release(image=IMAGE.replace("a" * 64, "b" * 64), commit_sha="c" * 40, repository=REPO)
    summary = await deploy(client, INFO, newer, log=Log())
    assert [call.split()[0] for call in styx.calls()] == ["GET", "POST", "POST"]  # no PATCH
    assert summary.updated == ("daily-report", "hourly-sync") and not summary.created
    assert styx.enabled("acme--daily-reports", "daily-report")
    assert not styx.enabled("acme--daily-reports", "hourly-sync")  # stays paused
    assert stored(styx, "hourly-sync")["docker_image"] == newer.image


async def test_a_workflow_no_longer_listed_is_deleted_but_only_if_tingle_deployed_it(
    styx: FakeStyx, client: StyxClient
) -> None:
    await deploy(client, INFO, RELEASE, log=Log())
    styx.add_workflow("acme--daily-reports", {"id": "by-hand", "schedule": "weekly"})
    styx.add_workflow(
        "acme--daily-reports",
        {"id": "other-tool", "schedule": "daily",
         "deployment_source": {"repository": REPO, "source": "styx-cli"}},
    )  # fmt: skip
    styx.add_workflow(
        "acme--daily-reports",
        {"id": "other-repo", "schedule": "daily",
         "deployment_source": {"repository": "acme/elsewhere", "source": "tingle"}},
    )  # fmt: skip
    fewer = DataInfo(INFO.workflows[:1])
    log = Log()
    summary = await deploy(client, fewer, RELEASE, log=log)
    assert summary.deleted == ("hourly-sync",)
    assert set(summary.left_alone) == {"by-hand", "other-tool", "other-repo"}
    assert styx.workflow_ids("acme--daily-reports") == [
        "by-hand", "daily-report", "other-repo", "other-tool",
    ]  # fmt: skip
    assert "styx: deleted hourly-sync (no longer in data-info.yaml)" in log.lines
    assert "styx: left by-hand alone: not deployed by Tingle from this repo" in log.lines
    assert log.lines[-1] == "styx acme--daily-reports: 1 updated, 1 deleted"


async def test_an_invalid_schedule_fails_with_styx_s_message(
    styx: FakeStyx, client: StyxClient
) -> None:
    await deploy(client, INFO, RELEASE, log=Log())
    broken = DataInfo((Workflow(id="daily-report", schedule="every other day"),))
    log = Log()
    with pytest.raises(DeliveryError) as caught:
        await deploy(client, broken, RELEASE, log=log)
    message = "Styx: 400 Invalid workflow configuration: [invalid schedule]"
    assert str(caught.value) == message
    assert not caught.value.infrastructure  # the repository's mistake: a failure, not an error
    assert log.lines[-1] == f"styx: daily-report: {message}"
    # Nothing was deleted after the failure, and the stored workflow is untouched.
    assert styx.workflow_ids("acme--daily-reports") == ["daily-report", "hourly-sync"]
    assert stored(styx, "daily-report")["schedule"] == "days"


async def test_a_new_workflow_that_cannot_be_enabled_fails_the_deploy(
    styx: FakeStyx, client: StyxClient
) -> None:
    styx.fail_next(500, "Failed to update the state.", method="PATCH")
    with pytest.raises(DeliveryError, match=r"^Styx: 500 Failed to update the state\.$") as caught:
        await deploy(client, INFO, RELEASE, log=Log())
    assert caught.value.infrastructure


async def test_a_wrong_token_and_an_unreachable_styx_are_infrastructure_errors(
    styx: FakeStyx,
) -> None:
    async with StyxClient(styx.base_url, StaticToken("wrong")) as wrong:
        with pytest.raises(DeliveryError, match=r"^Styx: 401 Unauthorized: invalid token$") as one:
            await deploy(wrong, INFO, RELEASE, log=Log())
    assert one.value.infrastructure
    async with StyxClient("http://127.0.0.1:9", StaticToken(TOKEN), timeout=2) as nowhere:
        with pytest.raises(DeliveryError, match=r"^Styx: GET http://127\.0\.0\.1:9/api") as two:
            await deploy(nowhere, INFO, RELEASE, log=Log())
    assert two.value.infrastructure


async def test_component_id_override_and_quoting(styx: FakeStyx, client: StyxClient) -> None:
    await deploy(client, INFO, RELEASE, log=Log(), component_id="team a/b")
    assert styx.calls()[0] == "GET /api/v3/workflows/team%20a%2Fb"
    assert styx.workflow_ids("team a/b") == ["daily-report", "hourly-sync"]


async def test_an_image_not_pinned_by_digest_is_refused(client: StyxClient) -> None:
    tagged = Release(image="127.0.0.1:5000/daily-reports:3f78", commit_sha="x", repository=REPO)
    with pytest.raises(ValueError, match="pinned by digest"):
        await deploy(client, INFO, tagged, log=Log())


async def test_a_broken_log_does_not_stop_a_deploy(styx: FakeStyx, client: StyxClient) -> None:
    async def broken(line: str) -> None:
        raise ConnectionError("redis went away")

    summary = await deploy(client, INFO, RELEASE, log=broken)
    assert summary.created == ("daily-report", "hourly-sync")
    assert styx.enabled("acme--daily-reports", "hourly-sync")


class Paused:
    """Wraps a scheduler; its second `put_workflow` waits until the test lets it go."""

    def __init__(self, inner: StyxClient) -> None:
        self.inner = inner
        self.name = inner.name
        self.reached = asyncio.Event()
        self.go = asyncio.Event()
        self.puts = 0
        self.list_workflows = inner.list_workflows
        self.enable_workflow = inner.enable_workflow
        self.delete_workflow = inner.delete_workflow

    async def put_workflow(self, component_id: str, workflow: Workflow, release: Release) -> None:
        self.puts += 1
        if self.puts == 2:
            self.reached.set()
            await self.go.wait()
        await self.inner.put_workflow(component_id, workflow, release)


async def test_cancelling_the_caller_lets_the_deploy_finish(
    styx: FakeStyx, client: StyxClient
) -> None:
    paused = Paused(client)
    log = Log()
    caller = asyncio.create_task(deploy(paused, INFO, RELEASE, log=log))
    await paused.reached.wait()  # half-way: one workflow created and enabled, one to go
    caller.cancel()
    await asyncio.sleep(0.05)
    assert not caller.done()  # still waiting for the deploy, which is not cancelled
    caller.cancel()  # a second cancel changes nothing either
    await asyncio.sleep(0.01)
    paused.go.set()
    with pytest.raises(asyncio.CancelledError):
        await caller  # the cancellation reaches the caller once the deploy is done
    assert styx.enabled("acme--daily-reports", "daily-report")
    assert styx.enabled("acme--daily-reports", "hourly-sync")
    assert log.lines[-1] == "styx acme--daily-reports: 2 created"


async def test_a_timeout_around_a_deploy_waits_for_it_then_times_out(
    styx: FakeStyx, client: StyxClient
) -> None:
    paused = Paused(client)
    asyncio.get_running_loop().call_later(0.2, paused.go.set)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await deploy(paused, INFO, RELEASE, log=Log())
    assert styx.enabled("acme--daily-reports", "hourly-sync")
