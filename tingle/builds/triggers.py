"""A push or pull request that asks for a build, turned into one: the record made from the
event's facts, admitted once per delivery, and (for a redelivery) the job made sure of."""

from __future__ import annotations

from dataclasses import dataclass

from tingle.build import Build, BuildState
from tingle.builds.control import Services, queue_build
from tingle.builds.replays import event_key
from tingle.forge.events import BuildTrigger
from tingle.queue import enqueue_build


@dataclass(frozen=True)
class Accepted:
    build: Build  # the new build; for a redelivery, the record that was not admitted
    build_id: str  # the build the delivery made, now or the first time
    created: bool  # False: a redelivery, or a replay of the same event
    supersedes: list[str]  # older builds of its lane to cancel (`control.supersede`)


async def accept_trigger(services: Services, trigger: BuildTrigger, delivery_id: str) -> Accepted:
    """Admit the build `trigger` asks for, once per delivery and once per event (a replay under
    a new delivery id is a duplicate too). A redelivery admits nothing, but makes sure its build,
    if still queued, has its job (arq makes at most one per build)."""
    build = new_build(trigger, delivery_id)
    admission, superseded = await queue_build(services, build, delivery_id, event_key(trigger))
    if not admission.created:
        earlier = await services.store.get(admission.build_id)
        if earlier is not None and earlier.state is BuildState.QUEUED:
            await enqueue_build(services.queue, earlier.id, services.settings.queue_name)
    return Accepted(build, admission.build_id, admission.created, superseded)


def new_build(trigger: BuildTrigger, delivery_id: str | None) -> Build:
    return Build(
        id="",  # given on admission
        repo=trigger.repo,
        sha=trigger.sha,
        ref=trigger.ref,
        event=trigger.event.value,
        clone_url=trigger.clone_url,
        branch=trigger.branch,
        pr_number=trigger.pr_number,
        head_repo=trigger.head_repo,
        is_fork=trigger.is_fork,
        default_branch=trigger.default_branch,
        installation_id=trigger.installation_id,
        delivery_id=delivery_id,
        author=trigger.author,
        commit_message=trigger.commit_message,
        commit_url=trigger.commit_url,
        pr_url=trigger.pr_url,
        base_branch=trigger.base_branch,
        pr_title=trigger.pr_title,
    )
