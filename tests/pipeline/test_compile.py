"""Compiler behaviour that depends on the build: when, deploys, forks, secrets, data not code."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.pipeline.helpers import PUSH_MAIN, template_set
from tingle.pipeline import PipelineError, compile_plan, lint
from tingle.pipeline.when import glob_match
from tingle.plan import BuildFacts, DeployStep, EventKind, PushImageStep, RunStep

PR = dataclasses.replace(
    PUSH_MAIN, event=EventKind.PULL_REQUEST, branch="feature", base_branch="main", pr_number=3
)

SHIP = """\
description: test, push and deploy
params:
  tag:
    type: string
    default: latest
    description: image tag
steps:
  - name: test
    image: alpine
    env:
      TAG: ${{ params.tag }}
    secrets: [token, other]
    commands: [echo "$TAG"]
  - name: push
    kind: push_image
    tags: ["reg/${{ repo.name }}:${{ params.tag }}"]
  - name: deploy
    kind: deploy
"""


def compile_ship(text: str, facts: BuildFacts = PUSH_MAIN) -> list[str]:
    plan = compile_plan(
        "version: 2\ntemplate:\n  type: ship\n" + text, facts, template_set(ship=SHIP)
    )
    return list(plan.step_names())


def test_deploy_only_for_pushes_to_the_default_branch() -> None:
    assert compile_ship("") == ["test", "push", "deploy"]
    assert compile_ship("", dataclasses.replace(PUSH_MAIN, branch="feature")) == ["test", "push"]
    assert compile_ship("", PR) == ["test", "push"]
    assert compile_ship("", dataclasses.replace(PUSH_MAIN, default_branch=None)) == ["test", "push"]


def test_deploy_branches_are_the_operator_s_and_the_file_only_narrows_them() -> None:
    text = "deploy:\n  branches: [release/*]\n"
    release = dataclasses.replace(PUSH_MAIN, branch="release/1.0")
    operator_allows = dataclasses.replace(release, deploy_branches=("release/*",))
    assert compile_ship(text, operator_allows)[-1] == "deploy"
    assert compile_ship(text, release)[-1] == "push"  # the commit alone cannot widen the list
    assert compile_ship(text)[-1] == "push"  # ...but may narrow it: not from main
    pr_to_release = dataclasses.replace(PR, base_branch="release/1.0", deploy_branches=("**",))
    assert compile_ship(text, pr_to_release)[-1] == "push"


def test_a_commit_listing_every_branch_does_not_make_its_branch_deploy() -> None:
    wip = dataclasses.replace(PUSH_MAIN, branch="wip/x")
    assert compile_ship("deploy:\n  branches: ['**']\n", wip)[-1] == "push"
    assert compile_ship("", dataclasses.replace(wip, deploy_branches=("wip/*",)))[-1] == "deploy"


def test_template_step_secrets_need_the_repository_to_list_them() -> None:
    templates = template_set(ship=SHIP)
    header = "version: 2\ntemplate:\n  type: ship\n"
    plan = compile_plan(header, PUSH_MAIN, templates)
    assert plan.steps[0].secrets == ()
    listed = header + "secrets:\n  bucket: b\n  names: [token]\n"
    plan = compile_plan(listed, PUSH_MAIN, templates)
    assert plan.steps[0].secrets == ("token",) and plan.secrets_source == "b"


def test_forks_get_no_secrets_at_all() -> None:
    text = "version: 2\nsecrets:\n  bucket: b\n  names: [t]\nsteps:\n"
    text += "  - name: a\n    image: b\n    commands: [c]\n    secrets: [t]\n"
    fork = dataclasses.replace(PR, is_fork=True)
    assert compile_plan(text, PR, template_set()).steps[0].secrets == ("t",)
    plan = compile_plan(text, fork, template_set())
    assert plan.steps[0].secrets == () and plan.secrets_source is None


def test_parameters_are_data() -> None:
    # A value that looks like an expression, YAML or shell stays exactly that text, and where it
    # would be an invalid image tag the compiler says so instead of passing it on.
    tricky = "x\\n  - name: evil ${{ build.sha }} $(rm -rf /)"
    text = f'version: 2\ntemplate:\n  type: ship\n  tag: "{tricky}"\n'
    echo = SHIP.split("  - name: push")[0]
    plan = compile_plan(text.replace("ship", "echo"), PUSH_MAIN, template_set(echo=echo))
    step = plan.steps[0]
    assert isinstance(step, RunStep) and step.commands == ('echo "$TAG"',)
    assert dict(step.env)["TAG"] == "x\n  - name: evil ${{ build.sha }} $(rm -rf /)"
    assert plan.step_names() == ("test",)
    assert [p.field for p in lint(text, template_set(ship=SHIP))] == ["template.tag"]


def test_facts_are_substituted() -> None:
    plan = compile_plan("version: 2\ntemplate:\n  type: ship\n", PUSH_MAIN, template_set(ship=SHIP))
    assert plan.steps[1] == PushImageStep("push", ("reg/widgets:latest",))
    assert plan.steps[2] == DeployStep("deploy")


def test_override_merges_env_and_swaps_agent_for_image() -> None:
    base = "description: d\nsteps:\n  - name: t\n    agent: python\n    env: {A: '1', B: '2'}\n"
    templates = template_set(t=base + "    commands: [c]\n")
    text = "version: 2\ntemplate:\n  type: t\nsteps:\n  - name: t\n    image: alpine\n"
    text += "    env: {B: three}\n"
    step = compile_plan(text, PUSH_MAIN, templates).steps[0]
    assert step == RunStep("t", "alpine", ("c",), env=(("A", "1"), ("B", "three")))


@pytest.mark.parametrize(
    ("when", "facts", "runs"),
    [
        ("{event: push}", PUSH_MAIN, True),
        ("{event: [pull_request]}", PUSH_MAIN, False),
        ("{branch: main}", PR, True),  # a pull request is filtered by the branch it targets
        ("{branch: feature}", PR, False),
        ("{branch: [dev, 'ma*']}", PUSH_MAIN, True),
        ("{paths: ['src/**']}", PUSH_MAIN, True),  # changed paths unknown: path filters match
        (
            "{paths: ['src/**']}",
            dataclasses.replace(PUSH_MAIN, changed_paths=("docs/a.md",)),
            False,
        ),
        (
            "{paths: ['src/**']}",
            dataclasses.replace(PUSH_MAIN, changed_paths=("src/a/b.py",)),
            True,
        ),
        ("{event: push, branch: dev}", PUSH_MAIN, False),  # every condition must hold
    ],
)
def test_when(when: str, facts: BuildFacts, runs: bool) -> None:
    text = f"version: 2\nsteps:\n  - name: a\n    image: b\n    commands: [c]\n    when: {when}\n"
    text += "  - name: z\n    image: b\n    commands: [c]\n"
    assert compile_plan(text, facts, template_set()).step_names() == (
        ("a", "z") if runs else ("z",)
    )


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("release/*", "release/1.0", True),
        ("release/*", "release/1/2", False),
        ("src/**", "src/a/b.py", True),
        ("**/*.py", "a.py", True),
        ("**/*.py", "x/y/a.py", True),
        ("docs/?.md", "docs/a.md", True),
        ("a.b", "axb", False),
    ],
)
def test_glob(pattern: str, text: str, matches: bool) -> None:
    assert glob_match(pattern, text) is matches


def test_compile_error_lists_the_same_problems_as_lint() -> None:
    text = "version: 2\nsteps:\n  - name: a\n  - name: a\n"
    with pytest.raises(PipelineError) as caught:
        compile_plan(text, PUSH_MAIN, template_set())
    assert caught.value.problems == lint(text, template_set())
    assert str(caught.value).splitlines()[0] == "build-info.yaml:3:5 steps[0].commands: required"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_lint_never_raises(text: str) -> None:
    problems = lint(text, template_set())
    assert all(p.line >= 1 and p.column >= 1 for p in problems)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_lint_never_raises_on_any_structure(value: object) -> None:
    import yaml

    lint(yaml.safe_dump({"version": 2, "steps": [value], "template": value}), template_set())
