"""What a build shows on GitHub as it changes: its commit statuses (overall and per stage) and,
for a pull request, the one Tingle comment. Built here, posted by forge's FeedbackPublisher."""

from __future__ import annotations

from redis.asyncio import Redis

from tingle.build import Build, BuildState, StepState
from tingle.forge.auth import GitHubClients
from tingle.forge.comment import LOG_TAIL_LINES, CommentView, StepView, render_comment
from tingle.forge.reporter import FeedbackPublisher, Target
from tingle.forge.statuses import CommitStatus, commit_statuses
from tingle.forge.writebudget import write_budget
from tingle.settings import Settings
from tingle.store import BuildStore

# The comment follows a build's start and end, not each step: a PR thread's readers get news,
# and GitHub gets one edit per change that matters.
COMMENT_STATES = {BuildState.QUEUED, *(state for state in BuildState if state.terminal)}


def make_feedback(
    redis: Redis, store: BuildStore, settings: Settings, clients: GitHubClients | None
) -> Feedback:
    publisher = FeedbackPublisher(
        redis, clients, prefix=settings.key_prefix, budget=write_budget(redis, settings)
    )
    return Feedback(publisher, store, settings)


class Feedback:
    def __init__(self, publisher: FeedbackPublisher, store: BuildStore, settings: Settings):
        self.publisher = publisher
        self._store = store
        self._settings = settings
        self._shown: dict[tuple[str, str], CommitStatus] = {}  # last status published per context
        self._commented: dict[str, BuildState] = {}

    async def build_changed(self, build: Build) -> None:
        """Publish what changed since this process last published for `build`."""
        target = Target(build.id, build.repo, build.sha, build.installation_id, build.pr_number)
        url = self._settings.build_url(build.id)
        statuses = commit_statuses(build, context=self._settings.status_context, target_url=url)
        if build.state.terminal:
            statuses += await self._orphaned_stages(build, statuses, url)
        changed = [s for s in statuses if self._shown.get((build.id, s.context)) != s]
        if changed:
            await self.publisher.publish_statuses(target, changed, build.version)
            self._shown.update({(build.id, s.context): s for s in changed})
        news = build.state in COMMENT_STATES and self._commented.get(build.id) is not build.state
        if build.pr_number is not None and news:
            await self.publisher.publish_comment(target, await self._comment(build, url))
            self._commented[build.id] = build.state
        if build.state.terminal:  # nothing more will change: forget it
            self._commented.pop(build.id, None)
            for status in statuses:
                self._shown.pop((build.id, status.context), None)

    async def _orphaned_stages(
        self, build: Build, statuses: list[CommitStatus], url: str
    ) -> list[CommitStatus]:
        """Stages an earlier attempt showed that this one never reached (a build handed back, then
        ended before compiling): they must not stay pending."""
        shown = await self.publisher.contexts(build.id)
        missing = sorted(shown - {s.context for s in statuses})
        text = f"not run: the build {build.state.value}"
        return [CommitStatus("error", f"{c.rsplit('/', 1)[-1]}: {text}", url, c) for c in missing]

    async def _comment(self, build: Build, url: str) -> str:
        failing = next(
            (
                i
                for i, s in enumerate(build.steps)
                if s.state in (StepState.FAILURE, StepState.ERROR)
            ),
            None,
        )
        tail: tuple[str, ...] = ()
        if failing is not None:
            chunks = await self._store.read_log_back(build.id, failing, count=LOG_TAIL_LINES)
            lines = [line for chunk in reversed(chunks) for line in chunk.lines]
            tail = tuple(lines[-LOG_TAIL_LINES:])
        assert build.pr_number is not None
        return render_comment(
            CommentView(
                build_id=build.id,
                state=build.state.value,
                build_url=url,
                repo=build.repo,
                sha=build.sha,
                pr_number=build.pr_number,
                steps=tuple(StepView(s.name, s.state.value, s.duration) for s in build.steps),
                failing_step=None if failing is None else build.steps[failing].name,
                log_tail=tail,
                reason=build.reason,
            )
        )
