"""What `tingle plan` adds to the plan: the image tags and the commit status contexts a build of
these facts would use, computed by the worker's own code (`engine.image_tags`,
`forge.statuses`), never a copy of it."""

from __future__ import annotations

from typing import Any

from tingle.engine.image_tags import build_tags
from tingle.errors import DeliveryError
from tingle.forge.statuses import status_contexts
from tingle.plan import BuildFacts, BuildImageStep, Plan, PushImageStep
from tingle.settings import Settings


def delivery_view(plan: Plan, facts: BuildFacts, settings: Settings) -> dict[str, Any]:
    """`image_tags` (empty when the plan builds no image), whether they are pushed, and the
    status contexts in the order a build posts them. A tag the step would refuse is reported
    as `image_error`, as the step would fail with it."""
    view: dict[str, Any] = {"image_tags": [], "pushes_image": False}
    images = [s for s in plan.steps if isinstance(s, BuildImageStep | PushImageStep)]
    if images:
        try:
            view["image_tags"] = list(
                build_tags(
                    images[0].tags,
                    facts,
                    registry=settings.registry,
                    agent_image_prefix=settings.agent_image_prefix,
                )
            )
        except DeliveryError as exc:
            view["image_error"] = str(exc)
        pushes = any(isinstance(s, PushImageStep) for s in plan.steps)
        view["pushes_image"] = pushes and not facts.is_fork  # a fork's build never pushes
    view["status_contexts"] = status_contexts([s.kind for s in plan.steps], settings.status_context)
    return view
