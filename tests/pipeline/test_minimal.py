"""The first path the worker relies on: version 2, named steps with image and commands."""

from __future__ import annotations

import pytest

from tests.pipeline.helpers import PUSH_MAIN, template_set
from tingle.pipeline import PipelineError, compile_plan, lint
from tingle.plan import Plan, RunStep

SIMPLE = """\
version: 2
steps:
  - name: test
    image: python:3.11
    commands:
      - pip install -e .
      - pytest -q
    env:
      CI: true
      LEVEL: 3
    timeout: 10m
  - name: hello
    agent: python
    commands: echo hello
"""


def test_steps_compile_to_run_steps() -> None:
    plan = compile_plan(SIMPLE, PUSH_MAIN, template_set())
    assert plan == Plan(
        steps=(
            RunStep(
                "test",
                "python:3.11",
                ("pip install -e .", "pytest -q"),
                env=(("CI", "true"), ("LEVEL", "3")),
                timeout_seconds=600,
            ),
            RunStep("hello", "tingle/agent-python:latest", ("echo hello",)),
        )
    )


def test_agent_prefix_is_configurable() -> None:
    plan = compile_plan(SIMPLE, PUSH_MAIN, template_set(), agent_image_prefix="reg:5000/agent-")
    assert plan.steps[1].image == "reg:5000/agent-python:latest"  # type: ignore[union-attr]


def test_problems_are_raised_together() -> None:
    text = "version: 2\nsteps:\n  - name: a\n    commands: [x]\n  - name: b\n    image: alpine\n"
    with pytest.raises(PipelineError) as caught:
        compile_plan(text, PUSH_MAIN, template_set())
    assert [str(p) for p in caught.value.problems] == [
        "build-info.yaml:3:5 steps[0].image: required (or agent)",
        "build-info.yaml:5:5 steps[1].commands: required",
    ]


def test_lint_of_a_valid_file_is_empty() -> None:
    assert lint(SIMPLE, template_set()) == []
