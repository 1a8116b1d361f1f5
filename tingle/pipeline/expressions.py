"""`${{ params.python }}`-style expressions: plain text substitution into string fields.

Substitution happens after YAML parsing, on single string values, in one pass: a value can never
add YAML structure, and text inserted is never scanned again, so a parameter holding `${{ ... }}`
stays literal. Shell commands are never expanded at all (see steps.py); values reach them as env.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from tingle.plan import BuildFacts, EventKind

EXPRESSION_START = "${{"
_EXPRESSION = re.compile(r"\$\{\{\s*([A-Za-z_]+\.[A-Za-z0-9_-]+)\s*\}\}")

# Build facts a template may use, e.g. in image tags. `params.*` come from the template.
FACT_NAMES = (
    "repo.full_name",
    "repo.owner",
    "repo.name",
    "build.sha",
    "build.short_sha",
    "build.branch",
    "build.event",
    "build.pr",
    "build.id",
)
SHORT_SHA = 12

# Facts used when linting, where no build exists yet; only their names matter.
LINT_FACTS = BuildFacts(repo="owner/repo", sha="0" * 40, event=EventKind.PUSH, branch="main")


@dataclass(frozen=True)
class Substitution:
    text: str
    used: tuple[str, ...]  # names referred to, e.g. ("params.python",)
    unknown: tuple[str, ...]
    malformed: bool  # a `${{` that is not a well-formed expression


def fact_values(facts: BuildFacts) -> dict[str, str]:
    owner, _, name = facts.repo.partition("/")
    return {
        "repo.full_name": facts.repo,
        "repo.owner": owner,
        "repo.name": name or owner,
        "build.sha": facts.sha,
        "build.short_sha": facts.sha[:SHORT_SHA],
        "build.branch": facts.branch or "",
        "build.event": str(facts.event),
        "build.pr": str(facts.pr_number) if facts.pr_number is not None else "",
        "build.id": facts.build_id,
    }


def substitute(text: str, values: Mapping[str, str]) -> Substitution:
    used: list[str] = []
    unknown: list[str] = []
    out: list[str] = []
    malformed = False
    position = 0
    for match in _EXPRESSION.finditer(text):
        literal = text[position : match.start()]
        malformed = malformed or EXPRESSION_START in literal
        out.append(literal)
        name = match.group(1)
        used.append(name)
        if name in values:
            out.append(values[name])
        else:
            unknown.append(name)  # reported by the caller; left out so later checks stay quiet
        position = match.end()
    tail = text[position:]
    malformed = malformed or EXPRESSION_START in tail
    out.append(tail)
    return Substitution("".join(out), tuple(used), tuple(unknown), malformed)
