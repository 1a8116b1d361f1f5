"""`data-info.yaml`: the workflows a repository deploys to the scheduler. Pure: text in, values out.

    facts:
      workflows:
        - id: daily-report
          schedule: daily            # hourly, daily, weekly, monthly, yearly, @daily, days, cron
          offset: PT2H               # optional, ISO-8601 duration
          docker_args: [report, "{}"]
          service_account: reports@acme.iam.gserviceaccount.com
          env: {MODE: full}
          resources: [bigquery]
          running_timeout: PT1H      # ISO-8601 duration, or a number of seconds
          retry_condition: "#tries < 3"

Every problem is reported at once, each with its field path (`facts.workflows[1].schedule`). The
scheduler checks what only it can (schedule syntax, offsets): its message reaches the user as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from tingle.deploy.fields import WorkflowReader, kind
from tingle.deploy.workflow import Workflow


@dataclass(frozen=True)
class DataInfo:
    workflows: tuple[Workflow, ...]

    def ids(self) -> tuple[str, ...]:
        return tuple(workflow.id for workflow in self.workflows)


MAX_BYTES = 1024 * 1024  # as for build-info.yaml
# libyaml's safe loader when PyYAML has it: several times faster on large files.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_LOADER)  # a safe loader
    except yaml.YAMLError:
        # Parse again with the pure-Python loader, slower but exact about where the error is.
        return yaml.safe_load(text)


class DataInfoError(ValueError):
    def __init__(self, filename: str, problems: list[str]) -> None:
        self.filename = filename
        self.problems = problems
        super().__init__("\n".join(f"{filename}: {problem}" for problem in problems))


def parse_data_info(text: str, filename: str = "data-info.yaml") -> DataInfo:
    if len(text.encode(errors="replace")) > MAX_BYTES:
        raise DataInfoError(filename, [f"larger than {MAX_BYTES} bytes; refused"])
    try:
        root = _load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise DataInfoError(
            filename, [f"{where}not valid YAML ({exc.__class__.__name__})"]
        ) from exc
    except (ValueError, RecursionError) as exc:  # a huge int, a 13th month, absurd nesting
        raise DataInfoError(filename, [f"not usable YAML: {type(exc).__name__}"]) from exc
    problems: list[str] = []
    workflows = _workflows(root, problems)
    if problems:
        raise DataInfoError(filename, problems)
    return DataInfo(workflows)


def _workflows(root: Any, problems: list[str]) -> tuple[Workflow, ...]:
    if not isinstance(root, dict):
        problems.append(f"expected a mapping with 'facts', got {kind(root)}")
        return ()
    facts = root.get("facts")
    if not isinstance(facts, dict):
        what = "required" if facts is None else f"expected a mapping, got {kind(facts)}"
        problems.append(f"facts: {what}")
        return ()
    items = facts.get("workflows")
    if not isinstance(items, list):
        what = "required" if items is None else f"expected a list, got {kind(items)}"
        problems.append(f"facts.workflows: {what}")
        return ()
    found: list[Workflow] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        path = f"facts.workflows[{index}]"
        workflow = WorkflowReader(path, problems).workflow(item)
        if workflow is None:
            continue
        if workflow.id in seen:
            first = f"facts.workflows[{seen[workflow.id]}]"
            problems.append(f"{path}.id: duplicate id '{workflow.id}' (also {first})")
        seen.setdefault(workflow.id, index)
        found.append(workflow)
    return tuple(found)
