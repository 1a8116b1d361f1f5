"""Problems found in a build-info.yaml or a template: each names a file, a position and a field.

Every check adds to a `Report` instead of raising, so one run of the linter can list every problem
at once; `PipelineError` carries them all when compiling cannot go on.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake. Lines and columns count from 1, like editors do."""

    file: str
    line: int
    column: int
    field: str  # a path such as "steps[2].image"; "" for the document as a whole
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where} {self.field}: {self.message}" if self.field else f"{where} {self.message}"


class PipelineError(Exception):
    """Raised when a build-info.yaml or a template cannot be compiled; lists every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid pipeline")


@dataclass(frozen=True)
class Mark:
    line: int
    column: int


@dataclass
class Report:
    """Collects problems for one file while the checks walk it."""

    file: str
    problems: list[Problem] = field(default_factory=list)

    def add(self, mark: Mark, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, mark.line, mark.column, path, message))

    def sorted(self) -> list[Problem]:
        # Positions first so the output reads top to bottom; duplicates (the same mistake reached
        # twice through a YAML alias) are shown once.
        return sorted(set(self.problems), key=lambda p: (p.line, p.column, p.field, p.message))


def suggest(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def hint(word: str, choices: Iterable[str]) -> str:
    """A suggestion when one is close, else the list of what exists, so the reader never guesses."""
    ordered = sorted(choices)
    return suggest(word, ordered) or f" (known: {', '.join(ordered) or 'none'})"


def join_path(parent: str, child: str | int) -> str:
    if isinstance(child, int):
        return f"{parent}[{child}]"
    return f"{parent}.{child}" if parent else child
