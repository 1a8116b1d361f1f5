"""Typed readers over the YAML tree: each returns a value, or None after adding a problem."""

from __future__ import annotations

import re
from collections.abc import Collection

from tingle.pipeline.problems import Report, join_path, suggest
from tingle.pipeline.yamlnodes import Map, Node, Scalar, Seq

_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
MAX_TIMEOUT_SECONDS = 24 * 3600


def describe(node: Node) -> str:
    if isinstance(node, Map):
        return "a mapping"
    if isinstance(node, Seq):
        return "a list"
    value = node.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string"


def expect_map(node: Node, path: str, report: Report) -> Map | None:
    if isinstance(node, Map):
        return node
    report.add(node.mark, path, f"expected a mapping, got {describe(node)}")
    return None


def check_keys(mapping: Map, allowed: Collection[str], path: str, report: Report) -> None:
    for key, entry in mapping.entries.items():
        if key not in allowed:
            report.add(entry.key_mark, path, f"unknown key '{key}'{suggest(key, allowed)}")


def required(mapping: Map, key: str, path: str, report: Report) -> Node | None:
    node = mapping.get(key)
    if node is None:
        report.add(mapping.mark, join_path(path, key), "required")
    return node


def peek_string(mapping: Map, key: str) -> str | None:
    """The string at `key` if there is one, without reporting: for decisions made before checks."""
    node = mapping.get(key)
    return node.value if isinstance(node, Scalar) and isinstance(node.value, str) else None


def string(node: Node, path: str, report: Report, *, scalars: bool = False) -> str | None:
    """A string; with `scalars`, numbers and booleans are read as the text written (`3.10`)."""
    if isinstance(node, Scalar) and isinstance(node.value, str):
        return node.value
    if scalars and isinstance(node, Scalar) and node.value is not None:
        return node.raw
    report.add(node.mark, path, f"expected a string, got {describe(node)}")
    return None


def string_list(node: Node, path: str, report: Report) -> tuple[str, ...] | None:
    """A list of strings; a single string is read as a list of one, as people often write it."""
    if isinstance(node, Scalar) and isinstance(node.value, str):
        return (node.value,)
    if not isinstance(node, Seq):
        report.add(node.mark, path, f"expected a list of strings, got {describe(node)}")
        return None
    items = [string(item, join_path(path, i), report) for i, item in enumerate(node.items)]
    return tuple(item for item in items if item is not None) if None not in items else None


def string_map(node: Node, path: str, report: Report) -> tuple[tuple[str, str], ...] | None:
    """NAME: value pairs (env, build args); numbers and booleans are kept as written."""
    mapping = expect_map(node, path, report)
    if mapping is None:
        return None
    pairs: list[tuple[str, str]] = []
    ok = True
    for key, entry in mapping.entries.items():
        value = string(entry.value, join_path(path, key), report, scalars=True)
        ok = ok and value is not None
        pairs.append((key, value or ""))
    return tuple(pairs) if ok else None


def duration(node: Node, path: str, report: Report) -> int | None:
    """Seconds from an integer or a text such as "90s", "10m", "1h30m"."""
    seconds: int | None = None
    if (
        isinstance(node, Scalar)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
    ):
        seconds = node.value
    elif isinstance(node, Scalar) and isinstance(node.value, str):
        match = _DURATION.fullmatch(node.value.strip())
        if match and any(match.groups()):
            h, m, s = (int(g or 0) for g in match.groups())
            seconds = h * 3600 + m * 60 + s
    if seconds is None:
        shown = node.raw if isinstance(node, Scalar) else describe(node)
        report.add(
            node.mark, path, f"invalid duration '{shown}' (use seconds or e.g. 90s, 10m, 1h30m)"
        )
        return None
    if not 0 < seconds <= MAX_TIMEOUT_SECONDS:
        report.add(
            node.mark, path, f"must be between 1 second and {MAX_TIMEOUT_SECONDS // 3600} hours"
        )
        return None
    return seconds


def one_of(node: Node, choices: Collection[str], path: str, report: Report) -> str | None:
    value = string(node, path, report)
    if value is not None and value not in choices:
        options = ", ".join(sorted(choices))
        report.add(
            node.mark,
            path,
            f"unknown value '{value}'{suggest(value, choices)}; expected one of {options}",
        )
        return None
    return value
