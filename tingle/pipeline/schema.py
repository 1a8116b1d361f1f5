"""JSON Schema for build-info.yaml version 2, for editors and the web app to serve.

The schema is built from the same key lists the linter uses, so the two cannot drift apart on
structure. It checks shape only; what needs the templates (their names, parameters and steps) or
the agents is the linter's alone. schema/build-info.v2.schema.json is this output, kept in the
repository for tools that want a file; a test keeps it equal to `schema_json()`.
"""

from __future__ import annotations

import json
from typing import Any

from tingle.pipeline.document import (
    DEPLOY_KEYS,
    SECRET_NAME_PATTERN,
    SECRETS_KEYS,
    SUPPORTED_VERSIONS,
)
from tingle.pipeline.fields import MAX_TIMEOUT_SECONDS
from tingle.pipeline.steps import COMMON_KEYS, KIND_KEYS, KINDS, NAME_PATTERN, REPO_KEYS, SCHEDULERS
from tingle.pipeline.when import EVENTS

SCHEMA_ID = "https://tingle.dev/schema/build-info.v2.schema.json"
_NOT_BLANK = {"type": "string", "pattern": r"\S"}
_SCALAR = {"type": ["string", "number", "boolean"]}


def _one_or_many(item: dict[str, Any], *, min_items: int = 0) -> dict[str, Any]:
    # A single value is read as a list of one, as the linter does.
    return {"oneOf": [item, {"type": "array", "items": item, "minItems": min_items}]}


def _pairs() -> dict[str, Any]:
    return {"type": "object", "additionalProperties": _SCALAR}


def _when() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Run the step only when every condition holds (globs; ** crosses /).",
        "properties": {
            "branch": _one_or_many({"type": "string"}),
            "event": _one_or_many({"enum": list(EVENTS)}),
            "paths": _one_or_many({"type": "string"}),
        },
        "additionalProperties": False,
    }


def _step_properties() -> dict[str, Any]:
    duration = r"^\s*(?=\d)(\d+h)?(\d+m)?(\d+s)?\s*$"
    return {
        "name": {"type": "string", "pattern": NAME_PATTERN},
        "kind": {"enum": list(KINDS), "default": "run"},
        "when": _when(),
        "timeout": {
            "oneOf": [
                {"type": "integer", "minimum": 1, "maximum": MAX_TIMEOUT_SECONDS},
                {"type": "string", "pattern": duration},
            ],
            "description": "Seconds, or a duration such as 90s, 10m, 1h30m.",
        },
        "secrets": _one_or_many({"type": "string"}, min_items=1),
        "override": {"type": "boolean"},
        "before": _NOT_BLANK,
        "image": _NOT_BLANK,
        "agent": {**_NOT_BLANK, "description": "An agent name: <prefix><agent>:latest."},
        "commands": _one_or_many({"type": "string"}, min_items=1),
        "env": _pairs(),
        "dockerfile": _NOT_BLANK,
        "context": _NOT_BLANK,
        "build_args": _pairs(),
        "tags": _one_or_many({"type": "string"}, min_items=1),
        "workflows_file": _NOT_BLANK,
        "scheduler": {"enum": list(SCHEDULERS)},
    }


def _step() -> dict[str, Any]:
    by_kind = [
        {
            "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
            "then": {"propertyNames": {"enum": [*COMMON_KEYS, *REPO_KEYS, *keys]}},
        }
        for kind, keys in KIND_KEYS.items()
    ]
    return {
        "type": "object",
        "required": ["name"],
        "properties": _step_properties(),
        "additionalProperties": False,
        "not": {"required": ["image", "agent"]},
        "allOf": by_kind,
    }


def build_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Tingle build-info.yaml, version 2",
        "type": "object",
        "required": ["version"],
        "properties": {
            "version": {"enum": list(SUPPORTED_VERSIONS)},
            "template": {
                "type": "object",
                "description": "A template in templates/ by name; other keys are its parameters.",
                "required": ["type"],
                "properties": {"type": {"type": "string"}},
                "additionalProperties": _SCALAR,
            },
            "secrets": {
                "type": "object",
                "properties": {
                    "bucket": {"type": "string"},
                    "names": _one_or_many({"type": "string", "pattern": SECRET_NAME_PATTERN}),
                },
                "propertyNames": {"enum": list(SECRETS_KEYS)},
            },
            "deploy": {
                "type": "object",
                "properties": {"branches": _one_or_many({"type": "string"})},
                "propertyNames": {"enum": list(DEPLOY_KEYS)},
            },
            "steps": {"type": "array", "items": _step()},
        },
        "patternProperties": {"^x-": {}},
        "additionalProperties": False,
    }


def schema_json() -> str:
    """The schema as JSON text, the way the web app serves it and the repository keeps it."""
    return json.dumps(build_schema(), indent=2) + "\n"
