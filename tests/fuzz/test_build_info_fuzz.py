"""build-info.yaml through the compiler: random documents and mutated real files (the golden
cases' build-info.yaml and the sample repositories') never make `lint` or `compile_plan` raise
anything but PipelineError, and every problem points at a real position."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import Tally
from tests.fuzz.yamldocs import any_document, shallow
from tingle.pipeline import PipelineError, compile_plan, lint, load_templates
from tingle.pipeline.document import TOP_KEYS
from tingle.pipeline.steps import COMMON_KEYS, KIND_KEYS, REPO_KEYS
from tingle.pipeline.when import WHEN_KEYS
from tingle.plan import BuildFacts, EventKind

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "pipeline" / "golden"
PROFILE = settings.get_profile("fuzz-compiler")
TEMPLATES = load_templates(ROOT / "templates", agents_dir=ROOT / "agents")
STEP_KEYS = (*COMMON_KEYS, *REPO_KEYS, *(k for keys in KIND_KEYS.values() for k in keys))
PARAMS = sorted({name for t in TEMPLATES.templates.values() for name in t.params})
WORDS = sorted(
    {*TOP_KEYS, *STEP_KEYS, *WHEN_KEYS, *PARAMS, *KIND_KEYS, *TEMPLATES.names()}
    | {"type", "bucket", "names", "branches", "push", "pull_request", "main", "release/*", "python"}
)
EXAMPLES = [p.read_text() for p in sorted(GOLDEN.glob("*/build-info.yaml"))] + [
    p.read_text() for p in sorted((ROOT / "tests" / "samples").glob("*/build-info.yaml"))
]


def _facts(path: Path) -> BuildFacts:
    data: dict[str, Any] = json.loads(path.read_text())
    changed = data.get("changed_paths")
    return BuildFacts(
        **{
            **data,
            "event": EventKind(data["event"]),
            "changed_paths": tuple(changed) if changed is not None else None,
        }
    )


FACTS = [_facts(p) for p in sorted(GOLDEN.glob("*/facts.json"))]
value = shallow(WORDS)
name = st.one_of(st.sampled_from(["install", "test", "build", "push", "lint"]), value)
step = st.builds(
    lambda name, rest: {"name": name, **rest},
    name,
    st.dictionaries(st.sampled_from([k for k in STEP_KEYS if k != "name"]), value, max_size=5),
)
template = st.builds(
    lambda kind, params: {"type": kind, **params},
    st.one_of(st.sampled_from([*TEMPLATES.names(), "nope"]), value),
    st.dictionaries(st.sampled_from(PARAMS), value, max_size=3),
)
skeleton = st.fixed_dictionaries(
    {"version": st.one_of(st.just(2), value)},
    optional={
        "template": st.one_of(template, value),
        "secrets": st.one_of(st.fixed_dictionaries({"bucket": value, "names": value}), value),
        "deploy": st.one_of(st.fixed_dictionaries({"branches": value}), value),
        "steps": st.one_of(st.lists(step, max_size=4), value),
    },
)


@PROFILE
@given(text=any_document(WORDS, skeleton, EXAMPLES), facts=st.sampled_from(FACTS))
def test_build_info_compiles_or_says_why(text: str, facts: BuildFacts, tally: Tally) -> None:
    tally("build-info.yaml: lint + compile_plan")
    problems = lint(text, TEMPLATES)
    for problem in problems:
        assert problem.line >= 1 and problem.column >= 1 and str(problem)
    try:
        compile_plan(text, facts, TEMPLATES)
    except PipelineError as exc:
        assert exc.problems
        return
    tally("build-info.yaml: of which compiled to a plan")
