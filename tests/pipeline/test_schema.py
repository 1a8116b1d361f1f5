"""The JSON Schema and the linter agree on the shape of build-info.yaml.

The schema checks structure only. The documents below stay within what both can judge; the
linter alone knows templates, their parameters and steps, agents, duplicate step names, which
steps are new (and so need commands), and secret listings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]  # no stubs in the dev extras
import pytest
import yaml

from tests.pipeline.helpers import template_set
from tingle.pipeline import lint
from tingle.pipeline.schema import build_schema, schema_json

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schema" / "build-info.v2.schema.json"
TEMPLATES = template_set(
    plain="description: d\nparams:\n  n:\n    type: string\n    default: x\n    description: n\n"
    "steps:\n  - name: test\n    image: alpine\n    commands: [c]\n"
)
STEP = "steps:\n  - name: a\n    image: alpine\n    commands: [c]\n"

VALID = [
    "version: 2\n" + STEP,
    "version: 2\ntemplate:\n  type: plain\n",
    "version: 2\ntemplate:\n  type: plain\n  n: '3.10'\nsteps:\n  - name: test\n    timeout: 5m\n",
    "version: 2\nsecrets:\n  bucket: b\n  names: [t]\n" + STEP + "    secrets: t\n",
    "version: 2\ndeploy:\n  branches: [main, release/*]\n" + STEP,
    "version: 2\n"
    + STEP
    + "    when:\n      event: [push]\n      branch: main\n      paths: ['**']\n",
    "version: 2\n" + STEP + "    env: {A: 1, B: true, C: x}\n    timeout: 600\n",
    "version: 2\nsteps:\n  - name: b\n    kind: build_image\n    build_args: {A: 1}\n",
    "version: 2\nsteps:\n  - name: d\n    kind: deploy\n    scheduler: styx\n",
    "version: 2\nx-base: &b\n  image: alpine\nsteps:\n  - {<<: *b, name: a, commands: c}\n",
]

INVALID = [
    "steps: []\n",  # no version
    "version: 1\n" + STEP,
    "version: 2\nstpes: []\n" + STEP,
    "version: 2\ntemplate: plain\n",
    "version: 2\ntemplate:\n  n: x\n",
    "version: 2\ntemplate:\n  type: plain\n  n: [x]\n",
    "version: 2\nsecrets:\n  bucket: b\n  nmes: [t]\n" + STEP,
    "version: 2\nsteps: {a: b}\n",
    "version: 2\nsteps:\n  - image: alpine\n    commands: [c]\n",
    "version: 2\nsteps:\n  - name: a b\n    image: alpine\n    commands: [c]\n",
    "version: 2\n" + STEP + "    imgae: x\n",
    "version: 2\n" + STEP + "    agent: python\n",
    "version: 2\n" + STEP + "    timeout: soon\n",
    "version: 2\n" + STEP + "    when:\n      event: tag\n",
    "version: 2\n" + STEP + "    when:\n      branches: main\n",
    "version: 2\n" + STEP + "    env: [A=1]\n",
    "version: 2\nsteps:\n  - name: a\n    image: alpine\n    commands: []\n",
    "version: 2\nsteps:\n  - name: b\n    kind: build_image\n    tags: [x]\n    commands: [c]\n",
    "version: 2\nsteps:\n  - name: d\n    kind: deploy\n    scheduler: airflow\n",
    "version: 2\nsteps:\n  - name: d\n    kind: docker\n",
    "version: 2\n" + STEP + "    override: yes please\n",
]


def schema_errors(text: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(build_schema())
    return [error.message for error in validator.iter_errors(yaml.safe_load(text))]


def test_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(build_schema())


@pytest.mark.parametrize("text", VALID)
def test_both_accept(text: str) -> None:
    assert lint(text, TEMPLATES) == []
    assert schema_errors(text) == []


@pytest.mark.parametrize("text", INVALID)
def test_both_reject(text: str) -> None:
    assert lint(text, TEMPLATES) != []
    assert schema_errors(text) != []


def test_schema_file_is_up_to_date() -> None:
    # Regenerate with UPDATE_GOLDEN=1, as for the golden plans.
    if os.environ.get("UPDATE_GOLDEN") == "1":
        SCHEMA_FILE.write_text(schema_json())
    assert SCHEMA_FILE.read_text() == schema_json()
    assert json.loads(schema_json())["$schema"].endswith("2020-12/schema")
