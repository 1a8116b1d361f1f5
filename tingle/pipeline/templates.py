"""Templates: YAML files in templates/ that platform teams own, loaded and checked once.

A template declares its parameters and its named steps. Loading reads every file up front (the only
I/O in the pipeline package) and checks each one fully, so a broken template fails the worker at
start, not some build later. A repository refers to a template by name only; nothing it writes ever
becomes a path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tingle.pipeline import fields as f
from tingle.pipeline.expand import expand_step
from tingle.pipeline.expressions import EXPRESSION_START, FACT_NAMES
from tingle.pipeline.params import Param, read_param
from tingle.pipeline.problems import Mark, PipelineError, Report, hint, join_path
from tingle.pipeline.steps import KINDS, StepSpec, parse_step
from tingle.pipeline.yamlnodes import Map, Seq, parse_yaml

TEMPLATE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
TEMPLATE_KEYS = ("description", "params", "steps")
RESERVED_PARAMS = ("type",)  # `template.type` names the template itself


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    params: dict[str, Param]
    steps: tuple[StepSpec, ...]


@dataclass(frozen=True)
class TemplateSet:
    templates: dict[str, Template]
    agents: frozenset[str] | None = None  # None: agent names are not known, so not checked

    def get(self, name: str) -> Template | None:
        return self.templates.get(name)

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.templates))


def load_templates(directory: Path, *, agents_dir: Path | None = None) -> TemplateSet:
    """Every `*.yaml` in `directory`; agents are the folders with a Dockerfile in `agents_dir`
    (default: the `agents` folder beside `directory`). Raises PipelineError listing all problems."""
    agents = _agent_names(agents_dir or directory.parent / "agents")
    templates: dict[str, Template] = {}
    problems = []
    for path in sorted(directory.glob("*.yaml")):
        report = Report(f"{directory.name}/{path.name}")
        template = parse_template(path.stem, path.read_text(encoding="utf-8"), report, agents)
        problems.extend(report.sorted())
        if template is not None:
            templates[template.name] = template
    if problems:
        raise PipelineError(problems)
    return TemplateSet(templates, agents)


def _agent_names(agents_dir: Path) -> frozenset[str] | None:
    if not agents_dir.is_dir():
        return None
    names = frozenset(p.parent.name for p in agents_dir.glob("*/Dockerfile"))
    return names or None


def parse_template(
    name: str, text: str, report: Report, agents: frozenset[str] | None = None
) -> Template | None:
    """Check one template's text; pure, so tests can build a TemplateSet without files."""
    if not TEMPLATE_NAME.match(name):
        report.add(Mark(1, 1), "", f"invalid template name '{name}' (letters, digits, '_' and '-')")
    root = parse_yaml(text, report)
    mapping = f.expect_map(root, "", report) if root is not None else None
    if mapping is None:
        return None
    f.check_keys(mapping, TEMPLATE_KEYS, "", report)
    desc_node = f.required(mapping, "description", "", report)
    description = f.string(desc_node, "description", report) if desc_node else None
    params = _read_params(mapping, report)
    steps = _read_steps(mapping, report)
    _check_expressions(steps, params, report)
    _check_agents(steps, agents, report)
    if description is None or report.problems:
        return None
    return Template(name, description, params, tuple(steps))


def _read_params(mapping: Map, report: Report) -> dict[str, Param]:
    node = mapping.get("params")
    params_map = f.expect_map(node, "params", report) if node else None
    params: dict[str, Param] = {}
    for key, entry in params_map.entries.items() if params_map else ():
        path = join_path("params", key)
        if key in RESERVED_PARAMS or not TEMPLATE_NAME.match(key):
            report.add(entry.key_mark, "params", f"invalid parameter name '{key}'")
            continue
        param = read_param(key, entry.value, path, report)
        if param is not None:
            params[key] = param
    return params


def _read_steps(mapping: Map, report: Report) -> list[StepSpec]:
    node = f.required(mapping, "steps", "", report)
    if node is None:
        return []
    if not isinstance(node, Seq):
        report.add(node.mark, "steps", f"expected a list, got {f.describe(node)}")
        return []
    steps: list[StepSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(node.items):
        path = join_path("steps", i)
        step_map = f.expect_map(item, path, report)
        if step_map is None:
            continue
        written = f.peek_string(step_map, "kind")
        kind = written if written in KINDS else "run"  # a bad kind is reported by parse_step
        step = parse_step(step_map, path, report, kind=kind, complete=True, repo=False)
        if step is not None and step.name in seen:
            message = f"duplicate step name '{step.name}'"
            report.add(step.marks["name"], join_path(path, "name"), message)
        elif step is not None:
            seen.add(step.name)
            steps.append(step)
    return steps


def _check_agents(steps: list[StepSpec], agents: frozenset[str] | None, report: Report) -> None:
    # Only literal names can be checked here; `${{ params.agent }}` is checked when compiling.
    for step in steps:
        agent = step.agent
        if agents is not None and agent and EXPRESSION_START not in agent and agent not in agents:
            message = f"unknown agent '{agent}'{hint(agent, agents)}"
            report.add(step.marks["agent"], join_path(step.path, "agent"), message)


def _check_expressions(steps: list[StepSpec], params: dict[str, Param], report: Report) -> None:
    # Expanding with placeholder values finds every unknown name at load time, so a build never
    # meets a template that refers to a parameter it does not declare.
    known = {name: "x" for name in FACT_NAMES} | {f"params.{name}": "x" for name in params}
    for step in steps:
        expand_step(step, known, report)
