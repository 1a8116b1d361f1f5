"""YAML text to a small tree that remembers where every value came from.

`yaml.compose` keeps each node's position; we convert its nodes to our own three kinds (Scalar, Seq,
Map) so the checks never see PyYAML types, and we never construct arbitrary Python objects. Aliases
are expanded here under a budget, which is what stops "billion laughs" documents.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from tingle.pipeline.problems import Mark, Report, join_path

MAX_BYTES = 1_000_000
MAX_NODES = 10_000  # after alias expansion; real build files have a few hundred
MAX_DEPTH = 50

# libyaml composes about five times faster than pure Python, which matters near the size limit.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

ScalarValue = str | int | float | bool | None


@dataclass(frozen=True)
class Scalar:
    value: ScalarValue  # resolved the YAML way: `3.10` is the float 3.1, `on` is True
    raw: str  # the text as written, so "3.10" can still be read as a string
    mark: Mark


@dataclass(frozen=True)
class Seq:
    items: tuple[Node, ...]
    mark: Mark


@dataclass(frozen=True)
class Entry:
    key_mark: Mark
    value: Node


@dataclass(frozen=True)
class Map:
    entries: dict[str, Entry]
    mark: Mark

    def get(self, key: str) -> Node | None:
        entry = self.entries.get(key)
        return entry.value if entry else None


Node = Scalar | Seq | Map

_TAG = "tag:yaml.org,2002:"
_CONSTRUCTOR = SafeConstructor()
# Only these scalar types are resolved; anything else (timestamps, binary) stays the text written.
_RESOLVE: dict[str, Callable[[Any], Any]] = {
    _TAG + "int": _CONSTRUCTOR.construct_yaml_int,
    _TAG + "float": _CONSTRUCTOR.construct_yaml_float,
    _TAG + "bool": _CONSTRUCTOR.construct_yaml_bool,
    _TAG + "null": _CONSTRUCTOR.construct_yaml_null,
}


def mark_of(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _BudgetExceeded(Exception):
    def __init__(self, mark: Mark, message: str) -> None:
        self.mark, self.message = mark, message


def parse_yaml(text: str, report: Report) -> Node | None:
    """The tree of `text`, or None with the reason added to `report`."""
    if len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        report.add(Mark(1, 1), "", f"file is larger than {MAX_BYTES // 1_000_000} MB")
        return None
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1)
        report.add(where, "", f"invalid YAML: {_explain(exc, text, where)}")
        return None
    except (yaml.YAMLError, RecursionError) as exc:
        report.add(Mark(1, 1), "", f"invalid YAML: {type(exc).__name__}")
        return None
    if root is None:
        report.add(Mark(1, 1), "", "file is empty")
        return None
    converter = _Converter(report)
    try:
        return converter.convert(root, 0, "")
    except _BudgetExceeded as exc:
        report.add(exc.mark, "", exc.message)
        return None


def _explain(exc: yaml.MarkedYAMLError, text: str, where: Mark) -> str:
    lines = text.splitlines()
    line = lines[where.line - 1] if 0 < where.line <= len(lines) else ""
    if line[where.column - 1 : where.column] == "\t":
        # The most common YAML mistake, and libyaml's own message does not name the character.
        return "tab character; indent with spaces"
    return str(exc.problem or exc.context)


class _Converter:
    def __init__(self, report: Report) -> None:
        self.report = report
        self.visited = 0

    def convert(self, node: yaml.Node, depth: int, path: str) -> Node:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise _BudgetExceeded(
                mark_of(node),
                f"too many values: over {MAX_NODES}, counting each use of an alias",
            )
        if depth > MAX_DEPTH:
            raise _BudgetExceeded(mark_of(node), f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, yaml.SequenceNode):
            items = (
                self.convert(item, depth + 1, join_path(path, i))
                for i, item in enumerate(node.value)
            )
            return Seq(tuple(items), mark_of(node))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, depth, path)
        resolve = _RESOLVE.get(node.tag)
        try:
            value = resolve(node) if resolve else str(node.value)
        except ValueError as exc:  # e.g. an int of over 4300 digits, a 13th month
            raise _BudgetExceeded(mark_of(node), f"not a usable value: {exc}") from exc
        return Scalar(value, str(node.value), mark_of(node))

    def _mapping(self, node: yaml.MappingNode, depth: int, path: str) -> Map:
        entries: dict[str, Entry] = {}
        merged: dict[str, Entry] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            if key_node.tag == _TAG + "merge":
                # `<<: *defaults` merges a mapping in; keys written here win over merged ones.
                merged = {**self._merge_sources(value_node, depth, path), **merged}
                continue
            if key in entries:
                self.report.add(mark_of(key_node), path, f"duplicate key '{key}'")
                continue
            value = self.convert(value_node, depth + 1, join_path(path, key))
            entries[key] = Entry(mark_of(key_node), value)
        return Map({**merged, **entries}, mark_of(node))

    def _merge_sources(self, node: yaml.Node, depth: int, path: str) -> dict[str, Entry]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[str, Entry] = {}
        for source in reversed(sources):  # earlier sources win, as in YAML's merge-key spec
            converted = self.convert(source, depth + 1, path)
            if isinstance(converted, Map):
                merged.update(converted.entries)
            else:
                self.report.add(converted.mark, path, "'<<' can only merge mappings")
        return merged
