"""Template parameters: how a template declares them, and how a build-info.yaml sets them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tingle.pipeline import fields as f
from tingle.pipeline.problems import Report, join_path, suggest
from tingle.pipeline.yamlnodes import Map, Node, Scalar

PARAM_TYPES = ("string", "integer", "boolean")
PARAM_KEYS = ("type", "default", "description", "pattern")
ParamValue = str | int | bool


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    description: str
    default: ParamValue | None = None  # None: the repository must set it
    pattern: str | None = None  # a regular expression a string value must match in full


def read_param(name: str, node: Node, path: str, report: Report) -> Param | None:
    mapping = f.expect_map(node, path, report)
    if mapping is None:
        return None
    f.check_keys(mapping, PARAM_KEYS, path, report)
    type_node = f.required(mapping, "type", path, report)
    kind = f.one_of(type_node, PARAM_TYPES, join_path(path, "type"), report) if type_node else None
    desc_node = f.required(mapping, "description", path, report)
    description = f.string(desc_node, join_path(path, "description"), report) if desc_node else None
    pattern_node = mapping.get("pattern")
    pattern = f.string(pattern_node, join_path(path, "pattern"), report) if pattern_node else None
    if pattern_node and pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            report.add(pattern_node.mark, join_path(path, "pattern"), f"invalid pattern: {exc}")
            return None
    if kind is None or description is None:
        return None
    param = Param(name, kind, description, None, pattern)
    default_node = mapping.get("default")
    if default_node is None:
        return param
    default = param_value(param, default_node, join_path(path, "default"), report)
    return Param(name, kind, description, default, pattern) if default is not None else None


def param_value(param: Param, node: Node, path: str, report: Report) -> ParamValue | None:
    """The value of `param` written at `node`, checked against its type and pattern."""
    value: ParamValue | None = None
    if isinstance(node, Scalar) and node.value is not None:
        raw = node.value
        if param.type == "string" and not isinstance(raw, bool):
            # Numbers are kept as written: `python: 3.10` means "3.10", not 3.1.
            value = node.raw if not isinstance(raw, str) else raw
        elif param.type == ("boolean" if isinstance(raw, bool) else "integer"):
            value = raw if isinstance(raw, int) else None  # bool is an int too
    if value is None:
        article = "an" if param.type == "integer" else "a"
        report.add(node.mark, path, f"expected {article} {param.type}, got {f.describe(node)}")
        return None
    if param.pattern and isinstance(value, str) and not re.fullmatch(param.pattern, value):
        report.add(node.mark, path, f"'{value}' does not match the pattern {param.pattern}")
        return None
    return value


def as_text(value: ParamValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def resolve_params(
    params: dict[str, Param], given: Map, path: str, report: Report, *, skip: tuple[str, ...]
) -> dict[str, str]:
    """`params.NAME` values for expressions: what the repository set, else the defaults."""
    values: dict[str, str] = {}
    for key, entry in given.entries.items():
        if key in skip:
            continue
        param = params.get(key)
        if param is None:
            message = f"unknown parameter '{key}'{suggest(key, params)}"
            report.add(entry.key_mark, path, message)
            continue
        value = param_value(param, entry.value, join_path(path, key), report)
        if value is not None:
            values[f"params.{key}"] = as_text(value)
    for name, param in params.items():
        if name not in given.entries and param.default is None:
            message = f"required parameter ({param.description})"
            report.add(given.mark, join_path(path, name), message)
        # Every declared parameter gets a value, even a missing or wrong one (already reported),
        # so its uses raise no second problem. No plan is built while any problem exists, so the
        # placeholder never reaches a build.
        fallback = as_text(param.default) if param.default is not None else "unset"
        values.setdefault(f"params.{name}", fallback)
    return values
