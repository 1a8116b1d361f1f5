"""Hypothesis strategies for YAML documents: random trees biased toward a file's own vocabulary
(so they get past the first check), real example files with their text or their tree mutated,
and raw text. Shared by the build-info and data-info fuzz tests."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import yaml
from hypothesis import strategies as st

# Scalars as YAML resolves them, plus the strings that mean something to the compilers.
NOISE = ["", " ", "~", "null", "yes", "no", "on", "3.10", "0x1F", "1e3", ".inf", "-", "{}", "*"]
EXPRESSIONS = [
    "${{ params.python }}",
    "${{ build.sha }}",
    "${{ repo.name }}",
    "${{ nope.nope }}",
    "${{",
    "${{ params.agent }}:${{ build.short_sha }}",
]


def scalars(words: Sequence[str]) -> st.SearchStrategy[Any]:
    # Values YAML resolves specially are among the samples: drawing them is much cheaper than
    # drawing from floats() and friends, and generation is what a fuzz case spends most time on.
    special = [None, True, False, 0, -1, 2**64, 1.5, -0.0, float("inf"), float("nan")]
    return st.one_of(
        st.sampled_from([*words, *NOISE, *EXPRESSIONS, *special]),
        st.integers(),
        st.text(max_size=20),
    )


def _keys(words: Sequence[str]) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(list(words)), st.text(max_size=8), st.integers(0, 3))


def shallow(words: Sequence[str]) -> st.SearchStrategy[Any]:
    """A scalar, or a short list or mapping of scalars: a value for one field."""
    leaf = scalars(words)
    return st.one_of(
        leaf, st.lists(leaf, max_size=3), st.dictionaries(_keys(words), leaf, max_size=3)
    )


def trees(words: Sequence[str]) -> st.SearchStrategy[Any]:
    """Nested mappings and lists whose keys are mostly words the file's reader knows."""
    return st.recursive(
        scalars(words),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(_keys(words), inner, max_size=5)
        ),
        max_leaves=30,
    )


def dumped(tree: Any, flow: bool | None) -> str:
    return yaml.safe_dump(tree, default_flow_style=flow, allow_unicode=True, sort_keys=False)


@st.composite
def documents(draw: st.DrawFn, words: Sequence[str], skeleton: st.SearchStrategy[Any]) -> str:
    """A YAML document: `skeleton` (a plausible top level) or any tree, dumped in any style."""
    tree = draw(st.one_of(skeleton, trees(words)))
    return dumped(tree, draw(st.sampled_from([None, False, True])))


@st.composite
def mutated_text(draw: st.DrawFn, examples: Sequence[str]) -> str:
    """A real file with a few edits to its text: lines dropped, doubled, swapped or re-indented,
    characters cut or inserted, anywhere."""
    lines = draw(st.sampled_from(list(examples))).splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            lines = [""]
        at = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["drop", "double", "swap", "indent", "cut", "insert"]))
        line = lines[at]
        if edit == "drop":
            del lines[at]
        elif edit == "double":
            lines.insert(at, line)
        elif edit == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], line
        elif edit == "indent":
            lines[at] = " " * draw(st.integers(0, 8)) + line.lstrip()
        elif edit == "cut":
            start = draw(st.integers(0, len(line)))
            lines[at] = line[:start] + line[start + draw(st.integers(1, 5)) :]
        else:
            start = draw(st.integers(0, len(line)))
            chunk = draw(st.sampled_from([":", "- ", "&a ", "*a", "[", "{", "'", '"', "#", "\t"]))
            lines[at] = (
                line[:start] + draw(st.one_of(st.just(chunk), st.text(max_size=6))) + line[start:]
            )
    return "\n".join(lines) + "\n"


@st.composite
def mutated_tree(draw: st.DrawFn, examples: Sequence[str], words: Sequence[str]) -> str:
    """A real file with a few values of its tree replaced by random subtrees, or removed."""
    tree = copy.deepcopy(yaml.safe_load(draw(st.sampled_from(list(examples)))))
    for _ in range(draw(st.integers(1, 3))):
        slots: list[tuple[Any, Any]] = []
        stack = [tree]
        while stack:
            node = stack.pop()
            for key in list(node) if isinstance(node, dict) else range(len(node)):
                slots.append((node, key))
                if isinstance(node[key], dict | list):
                    stack.append(node[key])
        if not slots:
            break
        node, key = draw(st.sampled_from(slots))
        if isinstance(node, dict) and draw(st.booleans()):
            del node[key]
        else:
            node[key] = draw(shallow(words))
    return dumped(tree, draw(st.sampled_from([None, False])))


def any_document(
    words: Sequence[str], skeleton: st.SearchStrategy[Any], examples: Sequence[str]
) -> st.SearchStrategy[str]:
    return st.one_of(
        documents(words, skeleton),
        mutated_text(examples),
        mutated_tree(examples, words),
        st.text(max_size=300),
    )
