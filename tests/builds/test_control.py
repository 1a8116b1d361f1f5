"""What the web app asks of the queue (tingle/builds/control.py) on a real Redis, with no worker:
queue (and hold, and supersede), cancel, approve, restart, close a lane. That a worker honours a
cancel request is tests/worker's; the whole path through webhooks and containers is e2e's."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq.connections import ArqRedis
from arq.constants import abort_jobs_ss

from tests.engine.helpers import a_build
from tingle.build import Build, BuildState
from tingle.builds import control
from tingle.builds.admission import Admitter
from tingle.builds.notices import BuildNotices
from tingle.forge.events import LaneClosed
from tingle.queue import connect
from tingle.settings import Settings
from tingle.store import BuildStore, CancelRequest


@dataclasses.dataclass
class Services:
    """What the web app's state gives control (control.Services)."""

    settings: Settings
    queue: ArqRedis
    store: BuildStore
    notices: BuildNotices
    admitter: Admitter

    async def queued(self, **changes: Any) -> Build:
        """A new build of octo/app's main branch, admitted as a webhook's would be."""
        build = a_build(**{"id": "", **changes})
        await control.queue_build(self, build, delivery_id=None)
        return build

    async def state_of(self, build_id: str) -> Build:
        build = await self.store.get(build_id)
        assert build is not None
        return build

    async def jobs(self) -> list[str]:
        """The queue's jobs, as arq's ids."""
        return [j.decode() for j in await self.queue.zrange(self.settings.queue_name, 0, -1)]

    async def aborted(self) -> list[str]:
        return [j.decode() for j in await self.queue.zrange(abort_jobs_ss, 0, -1)]

    async def told(self) -> list[str]:
        """The builds whose feedback a worker was told to publish, in order."""
        return [b.decode() for b in await self.queue.lrange(self.notices.key, 0, -1)]  # type: ignore[misc]


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    pool = connect(settings.redis_url)
    store = BuildStore(pool, settings.key_prefix)
    yield Services(
        settings,
        pool,
        store,
        BuildNotices(pool, settings.key_prefix),
        Admitter(store, pool, settings.queue_name),
    )
    await pool.aclose()


async def test_a_new_build_is_queued_and_answers_the_older_builds_of_its_lane(
    services: Services,
) -> None:
    first = await services.queued()
    await services.queued(branch="dev")
    newer = a_build(id="")

    admission, supersedes = await control.queue_build(services, newer, "delivery-3")

    assert (admission.build_id, admission.created, newer.id) == ("3", True, "3")
    assert supersedes == [first.id]  # not the other branch's
    assert await services.jobs() == ["build:1", "build:2", "build:3"]
    _, again = await control.queue_build(services, a_build(id=""), "delivery-3")
    assert again == []  # a redelivery supersedes nothing


@pytest.mark.parametrize(
    "change", [{"supersede": False}, {"supersede_except": frozenset({"octo/app"})}]
)
async def test_a_repository_may_keep_every_build(
    services: Services, change: dict[str, Any]
) -> None:
    services.settings = dataclasses.replace(services.settings, **change)
    await services.queued()
    assert (await control.queue_build(services, a_build(id=""), None))[1] == []


async def test_a_forks_pull_request_is_held_without_a_job_when_forks_wait(
    services: Services,
) -> None:
    services.settings = dataclasses.replace(services.settings, hold_forks=True)
    fork = await services.queued(is_fork=True, pr_number=5, event="pull_request")
    own = await services.queued(pr_number=6, event="pull_request")

    assert (fork.state, own.state) == (BuildState.HELD, BuildState.QUEUED)
    assert (await services.state_of(fork.id)).state is BuildState.HELD
    assert await services.jobs() == [f"build:{own.id}"]


@pytest.mark.parametrize("held", [False, True], ids=["queued", "held"])
async def test_a_build_no_worker_has_is_cancelled_at_once(services: Services, held: bool) -> None:
    services.settings = dataclasses.replace(services.settings, hold_forks=held)
    build = await services.queued(is_fork=True)

    assert await control.cancel_build(services, build.id, "cancelled by octocat", by="octocat")

    done = await services.state_of(build.id)
    assert (done.state, done.reason) == (BuildState.CANCELLED, "cancelled by octocat")
    assert done.cancelled_by == "octocat"
    assert await services.store.cancel_request(build.id) == CancelRequest(
        "cancelled by octocat", by="octocat"
    )
    assert await services.aborted() == [f"build:{build.id}"]  # a worker that took it stops
    assert await services.told() == [build.id, build.id]  # queued, then cancelled
    assert await services.store.active_builds() == []


async def test_a_running_build_is_left_to_its_worker_which_is_asked_to_stop(
    services: Services,
) -> None:
    build = await services.queued()
    build.run()
    await services.store.save(build)

    assert await control.cancel_build(services, build.id, "cancelled by octocat") is True

    assert (await services.state_of(build.id)).state is BuildState.RUNNING
    assert await services.store.cancel_request(build.id) == CancelRequest("cancelled by octocat")
    assert await services.aborted() == [f"build:{build.id}"]
    assert await services.told() == [build.id]  # only its admission: its worker tells the rest


async def test_the_first_cancel_stands_and_an_ended_or_unknown_build_has_nothing_to_cancel(
    services: Services,
) -> None:
    running = await services.queued()
    running.run()
    await services.store.save(running)
    ended = await services.queued(state=BuildState.SUCCESS)

    assert await control.cancel_build(services, running.id, "first") is True
    assert await control.cancel_build(services, running.id, "second") is False
    assert await control.cancel_build(services, ended.id) is False
    assert await control.cancel_build(services, "404") is False

    assert await services.store.cancel_request(running.id) == CancelRequest("first")
    assert await services.store.cancel_request(ended.id) is None
    assert (await services.state_of(ended.id)).state is BuildState.SUCCESS


async def test_supersede_cancels_each_older_build_naming_the_newer_one(
    services: Services,
) -> None:
    queued, running = await services.queued(), await services.queued()
    running.run()
    await services.store.save(running)
    newer = a_build(id="")
    _, older = await control.queue_build(services, newer, None)

    await control.supersede(services, newer, older)

    assert older == [running.id, queued.id]
    was_queued = await services.state_of(queued.id)
    assert (was_queued.state, was_queued.reason, was_queued.superseded_by) == (
        BuildState.CANCELLED, f"superseded by #{newer.id}", newer.id,
    )  # fmt: skip
    request = CancelRequest(f"superseded by #{newer.id}", superseded_by=newer.id)
    assert await services.store.cancel_request(running.id) == request  # for its worker
    assert (await services.state_of(newer.id)).state is BuildState.QUEUED


async def test_closing_a_lane_cancels_its_unfinished_builds_only(services: Services) -> None:
    doomed = [await services.queued(branch="doomed") for _ in range(2)]
    ended = await services.queued(branch="doomed", state=BuildState.FAILURE)
    elsewhere = await services.queued(branch="main")

    closed = LaneClosed("octo/app", "branch deleted", branch="doomed")
    assert await control.close_lane(services, closed) == 2

    states = [(await services.state_of(b.id)).state for b in [*doomed, ended, elsewhere]]
    assert states == [BuildState.CANCELLED, BuildState.CANCELLED, BuildState.FAILURE,
                      BuildState.QUEUED]  # fmt: skip
    assert (await services.state_of(doomed[0].id)).reason == "branch deleted"


async def test_approving_a_held_build_gives_it_its_job(services: Services) -> None:
    services.settings = dataclasses.replace(services.settings, hold_forks=True)
    held = await services.queued(is_fork=True)
    assert await services.jobs() == []

    assert await control.approve_build(services, held.id, "octocat") is True

    approved = await services.state_of(held.id)
    assert (approved.state, approved.reason) == (BuildState.QUEUED, "approved by octocat")
    assert await services.jobs() == [f"build:{held.id}"]
    assert await services.told() == [held.id, held.id]
    assert await control.approve_build(services, held.id, "octocat") is False  # not held now
    assert await control.approve_build(services, "404") is False
    assert await services.jobs() == [f"build:{held.id}"]  # one job, not two


async def test_restart_queues_the_same_commit_as_a_new_build(services: Services) -> None:
    old = await services.queued()
    old.start("w:1")
    old.run()
    old.finish(BuildState.FAILURE, "step 'test' failed (exit 1)")
    await services.store.save(old)

    new_id = await control.restart_build(services, old.id)

    assert new_id != old.id
    new = await services.state_of(new_id)
    assert (new.state, new.sha, new.ref, new.attempts, new.steps) == (
        BuildState.QUEUED, old.sha, old.ref, 0, [],
    )  # fmt: skip
    assert await services.jobs() == [f"build:{old.id}", f"build:{new_id}"]
    assert (await services.state_of(old.id)).state is BuildState.FAILURE  # left as it ended
    assert await services.store.cancel_request(old.id) is None
    with pytest.raises(KeyError):
        await control.restart_build(services, "404")
