"""build-info.yaml text + a template set + build facts -> a Plan. Pure: no files, no network.

Linting and compiling are one pass: `lint` compiles against placeholder facts and keeps only the
problems, so the two can never disagree about what is valid.
"""

from __future__ import annotations

from tingle.pipeline.document import read_build_info
from tingle.pipeline.expand import Fallback, expand_step
from tingle.pipeline.expressions import LINT_FACTS, fact_values
from tingle.pipeline.planner import Context, included, to_plan_step, without_secrets
from tingle.pipeline.problems import Mark, PipelineError, Problem, Report
from tingle.pipeline.resolve import resolve
from tingle.pipeline.templates import TemplateSet
from tingle.plan import BuildFacts, Plan, Step

DEFAULT_FILENAME = "build-info.yaml"
DEFAULT_AGENT_IMAGE_PREFIX = "tingle/agent-"


def compile_plan(
    build_info_text: str,
    facts: BuildFacts,
    templates: TemplateSet,
    *,
    agent_image_prefix: str = DEFAULT_AGENT_IMAGE_PREFIX,
    filename: str = DEFAULT_FILENAME,
) -> Plan:
    """The Plan for this build. Raises PipelineError listing every problem in the file."""
    plan, problems = _compile(build_info_text, facts, templates, agent_image_prefix, filename)
    if plan is None:
        raise PipelineError(problems)
    return plan


def lint(
    build_info_text: str, templates: TemplateSet, *, filename: str = DEFAULT_FILENAME
) -> list[Problem]:
    """Every problem in the file, ordered by position; empty when it is valid."""
    _, problems = _compile(
        build_info_text, LINT_FACTS, templates, DEFAULT_AGENT_IMAGE_PREFIX, filename
    )
    return problems


def _compile(
    text: str, facts: BuildFacts, templates: TemplateSet, prefix: str, filename: str
) -> tuple[Plan | None, list[Problem]]:
    report = Report(filename)
    info = read_build_info(text, report)
    if info is None:
        return None, report.sorted()
    resolved = resolve(info, templates, report)
    values = fact_values(facts) | resolved.params
    template_mark = info.template.mark if info.template else Mark(1, 1)
    param_marks = {
        f"params.{key}": entry.value.mark
        for key, entry in (info.template.entries.items() if info.template else ())
    }
    ctx = Context(
        info,
        facts,
        templates.agents,
        prefix,
        Fallback(template_mark, "template", param_marks),
        report,
    )
    steps: list[Step] = []
    for spec in resolved.steps:
        expanded = expand_step(spec, values, report, ctx.fallback)
        step = to_plan_step(expanded, ctx)
        if included(expanded, facts, info.deploy_branches):
            steps.append(without_secrets(step) if facts.is_fork else step)
    if not resolved.steps and not report.problems:
        report.add(info.mark, "", "no steps: name a template or add steps")
    if report.problems:
        return None, report.sorted()
    name = resolved.template.name if resolved.template else None
    # Forks never see secrets, not even where they are kept.
    source = None if facts.is_fork else info.secrets_bucket
    return Plan(tuple(steps), template=name, secrets_source=source), []
