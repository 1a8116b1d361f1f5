"""Each kind of mistake, with its exact message and position (line:column, counted from 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipeline.helpers import template_set
from tingle.pipeline import TemplateSet, lint, load_templates

ROOT = Path(__file__).resolve().parents[2]
OK_STEP = "  - name: a\n    image: b\n    commands: [c]\n"


@pytest.fixture(scope="module")
def templates() -> TemplateSet:
    shipped = load_templates(ROOT / "templates", agents_dir=ROOT / "does-not-exist")
    return TemplateSet(shipped.templates, frozenset({"python", "sbt"}))


CASES: dict[str, tuple[str, list[str]]] = {
    # YAML syntax messages are libyaml's: PyYAML's C loader is used when present, for speed.
    "yaml syntax error, with its position": (
        "version: 2\nsteps:\n  - name: a\n   image: b\n",
        ["4:4 invalid YAML: did not find expected '-' indicator"],
    ),
    "tab indentation": (
        "version: 2\nsteps:\n\t- name: a\n",
        ["3:1 invalid YAML: tab character; indent with spaces"],
    ),
    "empty file": ("", ["1:1 file is empty"]),
    "only comments": ("# nothing here\n", ["1:1 file is empty"]),
    "not a mapping": ("- name: a\n", ["1:1 expected a mapping at the top level, got a list"]),
    "version missing": (
        "steps:\n" + OK_STEP,
        ["1:1 version: required; supported versions: 2"],
    ),
    "version unsupported": (
        "version: 1\nimage: foo\n",
        ["1:10 version: unsupported version 1; supported versions: 2"],
    ),
    "unknown top-level key, with a suggestion": (
        "version: 2\nstpes: []\n",
        ["2:1 unknown key 'stpes' (did you mean 'steps'?)"],
    ),
    "duplicate key": ("version: 2\nsteps: []\nsteps: []\n", ["3:1 duplicate key 'steps'"]),
    "unknown step key, with a suggestion": (
        "version: 2\nsteps:\n  - name: a\n    imgae: b\n    commands: [c]\n",
        [
            "3:5 steps[0].image: required (or agent)",
            "4:5 steps[0]: unknown key 'imgae' (did you mean 'image'?)",
        ],
    ),
    "wrong types": (
        "version: 2\nsteps:\n  - name: a\n    image: b\n    commands: {run: c}\n    env: [A=1]\n",
        [
            "5:15 steps[0].commands: expected a list of strings, got a mapping",
            "6:10 steps[0].env: expected a mapping, got a list",
        ],
    ),
    "missing commands": (
        "version: 2\nsteps:\n  - name: a\n    image: b\n",
        ["3:5 steps[0].commands: required"],
    ),
    "missing image": (
        "version: 2\nsteps:\n"
        + OK_STEP
        + OK_STEP.replace(": a", ": b")
        + "  - name: c\n    commands: [c]\n",
        ["9:5 steps[2].image: required (or agent)"],
    ),
    "image and agent both set": (
        "version: 2\nsteps:\n  - name: a\n    image: b\n    agent: python\n    commands: [c]\n",
        ["5:5 steps[0]: set either image or agent, not both"],
    ),
    "unknown agent": (
        "version: 2\nsteps:\n  - name: a\n    agent: pyton\n    commands: [c]\n",
        ["4:12 steps[0].agent: unknown agent 'pyton' (did you mean 'python'?)"],
    ),
    "unknown agent through a template parameter": (
        "version: 2\ntemplate:\n  type: python\n  agent: node\n",
        ["4:10 template.agent: unknown agent 'node' (known: python, sbt)"],
    ),
    "duplicate step names": (
        "version: 2\nsteps:\n" + OK_STEP + OK_STEP,
        ["6:11 steps[1].name: duplicate step name 'a' (first at line 3)"],
    ),
    "invalid step name": (
        "version: 2\nsteps:\n  - name: run tests\n    image: b\n    commands: [c]\n",
        [
            "3:11 steps[0].name: invalid step name 'run tests'"
            " (letters, digits, '.', '_' and '-', at most 63)"
        ],
    ),
    "bad timeout": (
        "version: 2\nsteps:\n" + OK_STEP + "    timeout: 10 minutes\n",
        [
            "6:14 steps[0].timeout: invalid duration '10 minutes'"
            " (use seconds or e.g. 90s, 10m, 1h30m)"
        ],
    ),
    "timeout out of range": (
        "version: 2\nsteps:\n" + OK_STEP + "    timeout: 0\n",
        ["6:14 steps[0].timeout: must be between 1 second and 24 hours"],
    ),
    "unknown template, with a suggestion": (
        "template:\n  type: pyhton\nversion: 2\n",
        ["2:9 template.type: unknown template 'pyhton' (did you mean 'python'?)"],
    ),
    "template named by a path": (
        "version: 2\ntemplate:\n  type: ../../etc/passwd\n",
        ["3:9 template.type: '../../etc/passwd' is a path; name a template instead"],
    ),
    "unknown template parameter, with a suggestion": (
        "version: 2\ntemplate:\n  type: python\n  pyhton: '3.12'\n",
        ["4:3 template: unknown parameter 'pyhton' (did you mean 'python'?)"],
    ),
    "wrong parameter types": (
        "version: 2\ntemplate:\n  type: python\n  python: [3, 12]\n  pytest_args: true\n",
        [
            "4:11 template.python: expected a string, got a list",
            "5:16 template.pytest_args: expected a string, got a boolean",
        ],
    ),
    "parameter not matching its pattern": (
        "version: 2\ntemplate:\n  type: python\n  python: latest\n",
        ["4:11 template.python: 'latest' does not match the pattern [0-9]+\\.[0-9]+(\\.[0-9]+)?"],
    ),
    "bad when.event and when key": (
        "version: 2\nsteps:\n"
        + OK_STEP
        + "    when:\n      event: [push, tag]\n      branchs: main\n",
        [
            "7:21 steps[0].when.event[1]: unknown value 'tag'; expected one of pull_request, push",
            "8:7 steps[0].when: unknown key 'branchs' (did you mean 'branch'?)",
        ],
    ),
    "explicit override of a step the template lacks": (
        "version: 2\ntemplate:\n  type: python\nsteps:\n  - name: tests\n    override: true\n",
        [
            "6:15 steps[0].override: no template step named 'tests' to override"
            " (did you mean 'test'?)"
        ],
    ),
    "changing the kind of a template step": (
        "version: 2\ntemplate:\n  type: docker\nsteps:\n  - name: build\n    kind: run\n",
        ["6:11 steps[0].kind: cannot change template step 'build' from build_image to run"],
    ),
    "field of another kind": (
        "version: 2\nsteps:\n  - name: b\n    kind: build_image\n    commands: [c]\n",
        ["5:5 steps[0]: 'commands' is not allowed in a build_image step"],
    ),
    "image tags of the repository's own (issue 13, item 1)": (
        "version: 2\ntemplate:\n  type: docker\nsteps:\n  - name: push\n"
        "    tags: [tingle/agent-python:latest]\n",
        [
            "6:11 steps[0].tags: tags are not allowed: images are tagged"
            " <registry>/<owner>/<repo>:<short sha> (and the branch on the default branch),"
            " the registry being the operator's"
        ],
    ),
    "unknown kind": (
        "version: 2\nsteps:\n  - name: d\n    kind: docker\n",
        [
            "4:11 steps[0].kind: unknown value 'docker';"
            " expected one of build_image, deploy, push_image, run"
        ],
    ),
    "expression in commands": (
        "version: 2\nsteps:\n  - name: a\n    image: b\n"
        "    commands:\n      - echo ${{ build.sha }}\n",
        [
            "6:9 steps[0].commands[0]: ${{ }} is not expanded in commands;"
            " pass the value through env instead"
        ],
    ),
    "unknown expression": (
        "version: 2\nsteps:\n  - name: a\n    image: alpine:${{ params.tag }}\n    commands: [c]\n",
        ["4:12 steps[0].image: unknown expression 'params.tag'"],
    ),
    "path outside the repository, through a parameter": (
        "version: 2\ntemplate:\n  type: docker\n  dockerfile: ../other/Dockerfile\n",
        [
            "4:15 template.dockerfile: '../other/Dockerfile'"
            " must be a relative path inside the repository"
        ],
    ),
    "absolute path in a step": (
        "version: 2\nsteps:\n  - name: b\n    kind: build_image\n    dockerfile: /etc/Dockerfile\n",
        [
            "5:17 steps[0].dockerfile: '/etc/Dockerfile'"
            " must be a relative path inside the repository"
        ],
    ),
    "secret not listed": (
        "version: 2\nsecrets:\n  names: [token]\nsteps:\n" + OK_STEP + "    secrets: [tokn]\n",
        [
            "8:14 steps[0].secrets[0]: secret 'tokn' is not listed in secrets.names"
            " (did you mean 'token'?)"
        ],
    ),
    "placing a step before one that does not exist": (
        "version: 2\ntemplate:\n  type: python\nsteps:\n" + OK_STEP + "    before: tset\n",
        ["8:13 steps[0].before: no step named 'tset' before this one (did you mean 'test'?)"],
    ),
    "steps not a list": (
        "version: 2\nsteps:\n  name: a\n",
        ["3:3 steps: expected a list, got a mapping"],
    ),
    "step not a mapping": (
        "version: 2\nsteps:\n  - echo hi\n",
        ["3:5 steps[0]: expected a mapping, got a string"],
    ),
    "nothing to do": ("version: 2\n", ["1:1 no steps: name a template or add steps"]),
    "unknown scheduler": (
        "version: 2\nsteps:\n  - name: d\n    kind: deploy\n    scheduler: airflow\n",
        ["5:16 steps[0].scheduler: unknown value 'airflow'; expected one of styx"],
    ),
    "billion laughs": (
        "version: 2\na: &a [x,x,x,x,x,x,x,x,x,x]\n"
        + "".join(
            f"{n}: &{n} [{','.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcd", "bcde", strict=True)
        ),
        ["2:24 too many values: over 10000, counting each use of an alias"],
    ),
    "recursive alias": ("version: 2\nsteps: &a [*a]\n", ["2:8 nested deeper than 50 levels"]),
    "file over 1 MB": ("version: 2\n" + "#" * 1_000_001 + "\n", ["1:1 file is larger than 1 MB"]),
}


@pytest.mark.parametrize("case", CASES)
def test_mistake(case: str, templates: TemplateSet) -> None:
    text, expected = CASES[case]
    assert [str(p) for p in lint(text, templates)] == [f"build-info.yaml:{e}" for e in expected]


def test_required_template_parameter() -> None:
    needs_image = (
        "description: d\nparams:\n  image:\n    type: string\n    description: what to run\n"
    )
    templates = template_set(
        run=needs_image + "steps:\n  - name: a\n    image: ${{ params.image }}\n    commands: [c]\n"
    )
    problems = lint("version: 2\ntemplate:\n  type: run\n", templates, filename="x/build-info.yaml")
    assert [str(p) for p in problems] == [
        "x/build-info.yaml:3:3 template.image: required parameter (what to run)"
    ]


def test_every_problem_at_once(templates: TemplateSet) -> None:
    text = (
        "version: 2\ntemplate:\n  type: python\n  pyton: 3\nstpes: []\nsteps:\n"
        "  - name: a\n    commands: [c]\n    timeout: soon\n  - name: test\n    agent: nodejs\n"
    )
    assert [str(p) for p in lint(text, templates)] == [
        "build-info.yaml:4:3 template: unknown parameter 'pyton' (did you mean 'python'?)",
        "build-info.yaml:5:1 unknown key 'stpes' (did you mean 'steps'?)",
        "build-info.yaml:7:5 steps[0].image: required (or agent)",
        "build-info.yaml:9:14 steps[0].timeout: invalid duration 'soon'"
        " (use seconds or e.g. 90s, 10m, 1h30m)",
        "build-info.yaml:11:12 steps[1].agent: unknown agent 'nodejs' (known: python, sbt)",
    ]
    problem = lint(text, templates)[2]
    assert (problem.file, problem.line, problem.column, problem.field, problem.message) == (
        "build-info.yaml",
        7,
        5,
        "steps[0].image",
        "required (or agent)",
    )


def test_yaml_merge_keys_and_x_keys_are_accepted(templates: TemplateSet) -> None:
    text = (
        "version: 2\nx-base: &base\n  image: alpine\n"
        "steps:\n  - <<: *base\n    name: a\n    commands: [c]\n"
    )
    assert lint(text, templates) == []


def test_python_tags_are_not_executed_or_parsed(templates: TemplateSet) -> None:
    # The tag is ignored: nothing but plain values is ever constructed from a build-info.yaml.
    text = "version: 2\nsteps:\n  - name: a\n    image: !!python/object:os.system b\n"
    text += "    commands: [c]\n"
    assert lint(text, templates) == []
