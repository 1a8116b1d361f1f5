"""Reads one workflow entry of data-info.yaml, adding a problem (with its field path) for each bad
field. Used by tingle.deploy.datainfo only."""

from __future__ import annotations

import difflib
import re
from typing import Any

from tingle.deploy.workflow import WORKFLOW_KEYS, Workflow

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,255}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class WorkflowReader:
    """Reads one workflow entry, adding a problem (with its path) for each bad field."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems

    def fail(self, key: str, message: str) -> None:
        self.problems.append(f"{self.path}.{key}: {message}")

    def workflow(self, item: Any) -> Workflow | None:
        if not isinstance(item, dict):
            self.problems.append(f"{self.path}: expected a mapping, got {kind(item)}")
            return None
        before = len(self.problems)
        for key in item:
            if key not in WORKFLOW_KEYS:
                close = difflib.get_close_matches(str(key), WORKFLOW_KEYS, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.fail(str(key), f"unknown key{hint}")
        workflow_id = self.text(item, "id", required=True)
        if workflow_id is not None and not _ID.match(workflow_id):
            self.fail("id", "use letters, digits, '.', '_' and '-' (at most 256 characters)")
        schedule = self.text(item, "schedule", required=True)
        workflow = Workflow(
            id=workflow_id or "",
            schedule=schedule or "",
            offset=self.text(item, "offset"),
            service_account=self.text(item, "service_account"),
            docker_args=self.words(item, "docker_args"),
            docker_termination_logging=self.flag(item, "docker_termination_logging"),
            env=self.env(item),
            resources=self.words(item, "resources") or (),
            running_timeout=self.duration(item, "running_timeout"),
            retry_condition=self.text(item, "retry_condition"),
        )
        return workflow if len(self.problems) == before else None

    def text(self, item: dict[Any, Any], key: str, *, required: bool = False) -> str | None:
        value = item.get(key)
        if value is None:
            if required:
                self.fail(key, "required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"expected a non-empty string, got {kind(value)}")
            return None
        return value

    def words(self, item: dict[Any, Any], key: str) -> tuple[str, ...] | None:
        value = item.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            self.fail(key, f"expected a list of strings, got {kind(value)}")
            return None
        words = []
        for i, word in enumerate(value):
            if isinstance(word, bool) or not isinstance(word, str | int | float):
                self.fail(f"{key}[{i}]", f"expected a string, got {kind(word)}")
            else:
                words.append(str(word))
        return tuple(words)

    def flag(self, item: dict[Any, Any], key: str) -> bool | None:
        value = item.get(key)
        if value is not None and not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {kind(value)}")
            return None
        return value

    def env(self, item: dict[Any, Any]) -> tuple[tuple[str, str], ...]:
        value = item.get("env")
        if value is None:
            return ()
        if not isinstance(value, dict):
            self.fail("env", f"expected a mapping of names to strings, got {kind(value)}")
            return ()
        pairs = []
        for name, entry in value.items():
            if not isinstance(name, str) or not _ENV_NAME.match(name):
                self.fail(f"env.{name}", "not a valid environment variable name")
            elif isinstance(entry, bool) or not isinstance(entry, str | int | float):
                self.fail(f"env.{name}", f"expected a string, got {kind(entry)} (quote it)")
            else:
                pairs.append((name, str(entry)))
        return tuple(pairs)

    def duration(self, item: dict[Any, Any], key: str) -> str | None:
        value = item.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return f"PT{value}S"
        if value is not None and not (isinstance(value, str) and value.upper().startswith("P")):
            self.fail(key, f"expected an ISO-8601 duration such as PT2H, or seconds, got {value!r}")
            return None
        return value


def kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
