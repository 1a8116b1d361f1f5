"""`when:` conditions on a step, decided at compile time from the build's facts.

Patterns are globs: `*` and `?` stay within one path segment, `**` crosses `/` (so `release/*`
matches `release/1.2` but not `release/1/2`, and `src/**` matches everything under `src/`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from tingle.pipeline.fields import check_keys, expect_map, one_of, string_list
from tingle.pipeline.problems import Report, join_path
from tingle.pipeline.yamlnodes import Node, Seq
from tingle.plan import BuildFacts, EventKind

WHEN_KEYS = ("branch", "event", "paths")
EVENTS = tuple(kind.value for kind in EventKind)


@dataclass(frozen=True)
class When:
    """Each given condition must hold; within a condition, any listed pattern may match."""

    branch: tuple[str, ...] | None = None
    event: tuple[str, ...] | None = None
    paths: tuple[str, ...] | None = None

    def matches(self, facts: BuildFacts) -> bool:
        if self.event is not None and facts.event.value not in self.event:
            return False
        if self.branch is not None:
            # A pull request is filtered by the branch it targets, as drone and Woodpecker do.
            branch = facts.base_branch if facts.event is EventKind.PULL_REQUEST else facts.branch
            if branch is None or not any(glob_match(p, branch) for p in self.branch):
                return False
        if self.paths is not None and facts.changed_paths is not None:
            changed = facts.changed_paths
            return any(glob_match(p, path) for p in self.paths for path in changed)
        return True


def parse_when(node: Node, path: str, report: Report) -> When | None:
    mapping = expect_map(node, path, report)
    if mapping is None:
        return None
    check_keys(mapping, WHEN_KEYS, path, report)
    values: dict[str, tuple[str, ...] | None] = {}
    for key in WHEN_KEYS:
        child = mapping.get(key)
        if child is None:
            values[key] = None
            continue
        values[key] = string_list(child, join_path(path, key), report)
        if key == "event" and values[key] is not None:
            items = child.items if isinstance(child, Seq) else (child,)
            for i, item in enumerate(items):
                item_path = join_path(join_path(path, key), i) if isinstance(child, Seq) else None
                one_of(item, EVENTS, item_path or join_path(path, key), report)
    return When(values["branch"], values["event"], values["paths"])


def glob_match(pattern: str, text: str) -> bool:
    return _compile(pattern).fullmatch(text) is not None


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        else:
            char = pattern[i]
            out.append("[^/]*" if char == "*" else "[^/]" if char == "?" else re.escape(char))
            i += 1
    return re.compile("".join(out), re.DOTALL)
