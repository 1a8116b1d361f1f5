"""A Plan as JSON: what `tingle plan` prints and what the golden files hold.

Pairs (env, build args) become JSON objects because that is how people read them; key order is
the order written, so the output is stable.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from tingle.plan import Plan

_PAIR_FIELDS = ("env", "build_args")


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    steps = []
    for step in plan.steps:
        data = dataclasses.asdict(step)
        for key in _PAIR_FIELDS:
            if key in data:
                data[key] = dict(data[key])
        # Kind first: it says how to read the rest.
        steps.append({"kind": data.pop("kind"), **data})
    return {"template": plan.template, "secrets_source": plan.secrets_source, "steps": steps}


def plan_to_json(plan: Plan) -> str:
    return json.dumps(plan_to_dict(plan), indent=2) + "\n"
