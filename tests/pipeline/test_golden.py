"""Golden files: each folder in golden/ holds a build-info.yaml and the facts of a build beside the
plan it must compile to. `UPDATE_GOLDEN=1 pytest tests/pipeline/test_golden.py` rewrites the
expected plans; review the diff before committing it. Without that variable the tests only compare.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tingle.pipeline import TemplateSet, compile_plan, load_templates
from tingle.pipeline.planjson import plan_to_json
from tingle.plan import BuildFacts, EventKind

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(path.name for path in GOLDEN.iterdir() if path.is_dir())
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def shipped() -> TemplateSet:
    # Agents are checked elsewhere (test_templates.py); here the plans alone are compared, so a
    # change in agents/ never rewrites every golden file.
    return load_templates(ROOT / "templates", agents_dir=GOLDEN / "does-not-exist")


def facts_from_json(data: dict[str, Any]) -> BuildFacts:
    changed = data.get("changed_paths")
    return BuildFacts(
        **{
            **data,
            "event": EventKind(data["event"]),
            "changed_paths": tuple(changed) if changed is not None else None,
        }
    )


@pytest.mark.parametrize("case", CASES)
def test_golden_plan(case: str, shipped: TemplateSet) -> None:
    folder = GOLDEN / case
    facts = facts_from_json(json.loads((folder / "facts.json").read_text()))
    text = (folder / "build-info.yaml").read_text()
    actual = plan_to_json(compile_plan(text, facts, shipped))
    expected_path = folder / "plan.json"
    if UPDATE:
        expected_path.write_text(actual)
    assert expected_path.exists(), f"no plan.json in {folder}; run with UPDATE_GOLDEN=1"
    assert actual == expected_path.read_text()


def test_every_shipped_template_has_a_golden_case(shipped: TemplateSet) -> None:
    used = {
        line.split(":", 1)[1].strip()
        for case in CASES
        for line in (GOLDEN / case / "build-info.yaml").read_text().splitlines()
        if line.strip().startswith("type:")
    }
    assert set(shipped.names()) <= used
