"""What makes two webhook deliveries the same event, so that a replay builds nothing.

The signature proves a body came through the webhook, not when: the same signed body re-sent under
a new `X-GitHub-Delivery` (a replay, or a repository hook and an App hook delivering one push)
would build again, supersede the build running, and, for an old push to the default branch,
deploy old code. `event_key` names the event by what it builds: the repository, the event, the
ref, the sha, the pull request and its action, and for a push its compare range (`before...after`),
so a branch force-pushed back to an earlier commit (a rollback) is a new event and builds again.
The admission script (tingle.builds.admission) keeps the key about GitHub's 3-day redelivery
window; later, a deploy still runs only while its sha is the head of its branch.
"""

from __future__ import annotations

import hashlib
import json

from tingle.forge.events import BuildTrigger


def event_key(trigger: BuildTrigger) -> str:
    """A short, stable name for the event `trigger` came from (a hex digest)."""
    facts = [
        trigger.repo,
        trigger.event.value,
        trigger.ref,
        trigger.sha,
        trigger.action,
        trigger.pr_number,
        trigger.compare_url,
    ]
    return hashlib.sha256(json.dumps(facts).encode()).hexdigest()
