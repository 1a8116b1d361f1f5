"""Expanding `${{ }}` expressions in a step's data fields, reporting where a bad one was written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tingle.pipeline.expressions import substitute
from tingle.pipeline.problems import Mark, Report, join_path
from tingle.pipeline.steps import StepSpec

STRING_FIELDS = ("image", "agent", "dockerfile", "context", "workflows_file")
PAIR_FIELDS = ("env", "build_args")


@dataclass(frozen=True)
class Fallback:
    """Where to point for a field the repository did not write (it came from the template)."""

    mark: Mark
    path: str
    params: dict[str, Mark] = field(default_factory=dict)  # "params.x" -> where the repo set it


def locate(step: StepSpec, key: str, fallback: Fallback | None) -> tuple[Mark, str, str]:
    """(mark, field path, message prefix) for a problem in `key` of `step`."""
    top = key.split(".")[0].split("[")[0]
    if top in step.marks or fallback is None or not step.from_template:
        return step.marks.get(top, step.mark), join_path(step.path, key), ""
    # A bad value in a template's field comes from a parameter the repository set: point there,
    # since that is the line the reader can change.
    for name in step.uses.get(top, ()):
        if name in fallback.params:
            return fallback.params[name], "template." + name.removeprefix("params."), ""
    return fallback.mark, fallback.path, f"step '{step.name}' {key}: "


def expand_step(
    step: StepSpec, values: Mapping[str, str], report: Report, fallback: Fallback | None = None
) -> StepSpec:
    uses: dict[str, tuple[str, ...]] = {}

    def expand(key: str, text: str) -> str:
        result = substitute(text, values)
        mark, path, prefix = locate(step, key, fallback)
        for name in result.unknown:
            report.add(mark, path, f"{prefix}unknown expression '{name}'")
        if result.malformed:
            report.add(mark, path, f"{prefix}malformed ${{{{ }}}} expression")
        top = key.split(".")[0].split("[")[0]
        uses[top] = uses.get(top, ()) + result.used
        return result.text

    changes: dict[str, Any] = {}
    for key in STRING_FIELDS:
        value = getattr(step, key)
        if value is not None:
            changes[key] = expand(key, value)
    for key in PAIR_FIELDS:
        pairs: tuple[tuple[str, str], ...] | None = getattr(step, key)
        if pairs is not None:
            changes[key] = tuple((name, expand(f"{key}.{name}", v)) for name, v in pairs)
    if step.tags is not None:
        changes["tags"] = tuple(expand(f"tags[{i}]", tag) for i, tag in enumerate(step.tags))
    return replace(step, **changes, uses=uses)
