"""One step as written in a template or a build-info.yaml, checked but not yet resolved.

Templates and repositories write steps the same way, so one reader serves both. A repository step
that overrides a template step may give only the fields it changes, hence every field is optional
here and `given` records which were written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tingle.pipeline import fields as f
from tingle.pipeline.expressions import EXPRESSION_START
from tingle.pipeline.problems import Mark, Report, join_path, suggest
from tingle.pipeline.when import When, parse_when
from tingle.pipeline.yamlnodes import Map, Node, Scalar, Seq

COMMON_KEYS = ("name", "kind", "when", "timeout", "secrets")
REPO_KEYS = ("override", "before")  # only meaningful in a build-info.yaml
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "run": ("image", "agent", "commands", "env"),
    "build_image": ("dockerfile", "context", "build_args", "tags"),
    "push_image": ("tags",),
    "deploy": ("workflows_file", "scheduler"),
}
KINDS = tuple(KIND_KEYS)
SCHEDULERS = ("styx",)
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
_NAME = re.compile(NAME_PATTERN)


@dataclass(frozen=True)
class StepSpec:
    name: str
    kind: str
    mark: Mark
    path: str  # "steps[2]", for problems found after merging and substitution
    given: frozenset[str]
    marks: dict[str, Mark] = field(default_factory=dict)  # where each written field is
    image: str | None = None
    agent: str | None = None
    commands: tuple[str, ...] | None = None
    env: tuple[tuple[str, str], ...] | None = None
    timeout_seconds: int | None = None
    secrets: tuple[str, ...] | None = None
    when: When | None = None
    dockerfile: str | None = None
    context: str | None = None
    build_args: tuple[tuple[str, str], ...] | None = None
    tags: tuple[str, ...] | None = None
    workflows_file: str | None = None
    scheduler: str | None = None
    from_template: bool = False  # fields not in `marks` were written by the template
    uses: dict[str, tuple[str, ...]] = field(default_factory=dict)  # field -> expressions used
    override: bool = False
    before: str | None = None


def read_name(mapping: Map, path: str, report: Report) -> str | None:
    node = f.required(mapping, "name", path, report)
    name = f.string(node, join_path(path, "name"), report) if node else None
    if node and name is not None and not _NAME.match(name):
        help_text = "letters, digits, '.', '_' and '-', at most 63"
        report.add(node.mark, join_path(path, "name"), f"invalid step name '{name}' ({help_text})")
        return None
    return name


def parse_step(
    mapping: Map, path: str, report: Report, *, kind: str, complete: bool, repo: bool
) -> StepSpec | None:
    """Read one step of `kind`; `complete` demands the fields a new (not overriding) step needs."""
    name = read_name(mapping, path, report)
    _check_step_keys(mapping, kind, path, report, repo=repo)
    values: dict[str, Any] = {}
    for key, entry in mapping.entries.items():
        value = _read_field(key, entry.value, join_path(path, key), report)
        if value is not None:
            values[key] = value
    if complete:
        _check_complete(mapping, kind, path, report)
    if "image" in mapping.entries and "agent" in mapping.entries:
        report.add(mapping.entries["agent"].key_mark, path, "set either image or agent, not both")
    if name is None:
        return None
    marks = {key: entry.value.mark for key, entry in mapping.entries.items()}
    values.pop("name", None)
    values.pop("kind", None)
    if "timeout" in values:
        values["timeout_seconds"] = values.pop("timeout")
    given = frozenset(key if key != "timeout" else "timeout_seconds" for key in mapping.entries)
    return StepSpec(name, kind, mapping.mark, path, given, marks, **values)


def _check_step_keys(mapping: Map, kind: str, path: str, report: Report, *, repo: bool) -> None:
    allowed = COMMON_KEYS + KIND_KEYS[kind] + (REPO_KEYS if repo else ())
    every = COMMON_KEYS + REPO_KEYS + tuple(k for keys in KIND_KEYS.values() for k in keys)
    for key, entry in mapping.entries.items():
        if key in allowed:
            continue
        if key in every:
            report.add(entry.key_mark, path, f"'{key}' is not allowed in a {kind} step")
        else:
            report.add(entry.key_mark, path, f"unknown key '{key}'{suggest(key, allowed)}")


def _check_complete(mapping: Map, kind: str, path: str, report: Report) -> None:
    if kind == "run":
        if "image" not in mapping.entries and "agent" not in mapping.entries:
            report.add(mapping.mark, join_path(path, "image"), "required (or agent)")
        f.required(mapping, "commands", path, report)


def _read_field(key: str, node: Node, path: str, report: Report) -> object | None:
    if key in ("image", "agent", "dockerfile", "context", "workflows_file", "before"):
        return _nonempty(f.string(node, path, report), node, path, report)
    if key == "kind":
        return f.one_of(node, KINDS, path, report)
    if key == "scheduler":
        return f.one_of(node, SCHEDULERS, path, report)
    if key in ("commands", "tags", "secrets"):
        return _read_list(key, node, path, report)
    if key in ("env", "build_args"):
        return f.string_map(node, path, report)
    if key == "timeout":
        return f.duration(node, path, report)
    if key == "when":
        return parse_when(node, path, report)
    if key == "override":
        if isinstance(node, Scalar) and isinstance(node.value, bool):
            return node.value
        report.add(node.mark, path, f"expected a boolean, got {f.describe(node)}")
    return None


def _read_list(key: str, node: Node, path: str, report: Report) -> tuple[str, ...] | None:
    items = f.string_list(node, path, report)
    if items is not None and not items:
        report.add(node.mark, path, "must not be empty")
    if key == "commands" and items:
        _check_commands(node, items, path, report)
    return items


def _nonempty(value: str | None, node: Node, path: str, report: Report) -> str | None:
    if value is not None and not value.strip():
        report.add(node.mark, path, "must not be empty")
        return None
    return value


def _check_commands(node: Node, commands: tuple[str, ...], path: str, report: Report) -> None:
    # Expressions are never expanded inside shell text: a parameter value could then inject
    # commands. Values reach commands through `env`, where the shell treats them as data.
    for i, command in enumerate(commands):
        if EXPRESSION_START in command:
            item = node.items[i] if isinstance(node, Seq) else node
            where = join_path(path, i) if isinstance(node, Seq) else path
            message = "${{ }} is not expanded in commands; pass the value through env instead"
            report.add(item.mark, where, message)
