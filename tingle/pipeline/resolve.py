"""Finding the named template, setting its parameters and merging the repository's steps into it."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from tingle.pipeline import fields as f
from tingle.pipeline.document import BuildInfo
from tingle.pipeline.params import resolve_params
from tingle.pipeline.problems import Report, hint, join_path, suggest
from tingle.pipeline.steps import KINDS, StepSpec, parse_step
from tingle.pipeline.templates import Template, TemplateSet
from tingle.pipeline.yamlnodes import Map, Scalar

# Fields an override may replace; name, kind and the override/before markers are not plan data.
_DATA_FIELDS = frozenset(fl.name for fl in fields(StepSpec)) - {
    "name", "kind", "mark", "path", "given", "marks", "override", "before", "from_template", "uses",
}  # fmt: skip


@dataclass(frozen=True)
class Resolved:
    template: Template | None
    params: dict[str, str]  # "params.NAME" -> value, for expressions
    steps: tuple[StepSpec, ...]


def resolve(info: BuildInfo, templates: TemplateSet, report: Report) -> Resolved:
    template = _find_template(info, templates, report)
    params: dict[str, str] = {}
    if template is not None and info.template is not None:
        params = resolve_params(template.params, info.template, "template", report, skip=("type",))
    # Template steps carry no repository positions: problems in them point at `template`.
    template_steps = template.steps if template else ()
    base = [replace(s, marks={}, given=frozenset(), from_template=True) for s in template_steps]
    # With a template named but not found, overrides cannot be judged (the name is reported).
    judge_overrides = template is not None or not info.template_name
    steps = _merge(info, base, judge_overrides=judge_overrides, report=report)
    return Resolved(template, params, tuple(steps))


def _find_template(info: BuildInfo, templates: TemplateSet, report: Report) -> Template | None:
    name = info.template_name
    if name is None or info.template is None:
        return None
    template = templates.get(name)
    if template is not None:
        return template
    mark = info.template.entries["type"].value.mark
    if any(c in name for c in "/\\") or name.startswith("."):
        report.add(mark, "template.type", f"'{name}' is a path; name a template instead")
    else:
        report.add(
            mark, "template.type", f"unknown template '{name}'" + hint(name, templates.names())
        )
    return None


def _merge(
    info: BuildInfo, base: list[StepSpec], *, judge_overrides: bool, report: Report
) -> list[StepSpec]:
    """Template steps in order, overridden in place; new steps appended or put `before` one."""
    result = list(base)
    template_kinds = {step.name: step.kind for step in base}
    first_seen: dict[str, int] = {}
    for i, item in enumerate(info.steps.items if info.steps else ()):
        path = join_path("steps", i)
        mapping = f.expect_map(item, path, report)
        if mapping is None:
            continue
        name = f.peek_string(mapping, "name")
        template_kind = template_kinds.get(name or "")
        kind = _kind(mapping, name, template_kind, path, report)
        # Demand a new step's fields only when it is surely meant as one: not when it says it
        # overrides, nor when its kind is unreadable (both already reported).
        new = template_kind is None and not _peek_bool(mapping, "override")
        new = new and (mapping.get("kind") is None or f.peek_string(mapping, "kind") in KINDS)
        step = parse_step(mapping, path, report, kind=kind, complete=new, repo=True)
        if step is None:
            continue
        if step.name in first_seen:
            message = f"duplicate step name '{step.name}' (first at line {first_seen[step.name]})"
            report.add(step.marks["name"], join_path(path, "name"), message)
            continue
        first_seen[step.name] = step.marks["name"].line
        if template_kind is not None:
            _override(result, step, path, report)
            continue
        if step.override and judge_overrides:
            choices = tuple(template_kinds)
            message = (
                f"no template step named '{step.name}' to override{suggest(step.name, choices)}"
            )
            report.add(step.marks["override"], join_path(path, "override"), message)
        _insert(result, step, path, report)
    return result


def _peek_bool(mapping: Map, key: str) -> bool:
    node = mapping.get(key)
    return isinstance(node, Scalar) and node.value is True


def _kind(
    mapping: Map, name: str | None, template_kind: str | None, path: str, report: Report
) -> str:
    written = f.peek_string(mapping, "kind")
    if written is not None and template_kind is not None and written != template_kind:
        message = f"cannot change template step '{name}' from {template_kind} to {written}"
        report.add(mapping.entries["kind"].value.mark, join_path(path, "kind"), message)
    if template_kind is not None:
        return template_kind
    return written if written in KINDS else "run"


def _override(result: list[StepSpec], step: StepSpec, path: str, report: Report) -> None:
    if step.before is not None:
        message = "only new steps can be placed; an override keeps the template's order"
        report.add(step.marks["before"], join_path(path, "before"), message)
    index = next(i for i, s in enumerate(result) if s.name == step.name)
    base = result[index]
    changes: dict[str, Any] = {key: getattr(step, key) for key in step.given & _DATA_FIELDS}
    if "env" in changes and base.env:
        changes["env"] = tuple({**dict(base.env), **dict(step.env or ())}.items())
    # Setting one of image/agent replaces the template's choice of the other.
    if "image" in changes and "agent" not in changes:
        changes["agent"] = None
    if "agent" in changes and "image" not in changes:
        changes["image"] = None
    changes.update(mark=step.mark, path=path, given=step.given, marks=step.marks)
    result[index] = replace(base, **changes)


def _insert(result: list[StepSpec], step: StepSpec, path: str, report: Report) -> None:
    if step.before is None:
        result.append(step)
        return
    names = [s.name for s in result]
    if step.before in names:
        result.insert(names.index(step.before), step)
        return
    message = f"no step named '{step.before}' before this one{suggest(step.before, names)}"
    report.add(step.marks["before"], join_path(path, "before"), message)
    result.append(step)
