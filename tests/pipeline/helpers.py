"""Shared test helpers: template sets built from text, so tests need no files."""

from __future__ import annotations

from tingle.pipeline import PipelineError, TemplateSet
from tingle.pipeline.problems import Report
from tingle.pipeline.templates import Template, parse_template
from tingle.plan import BuildFacts, EventKind

PUSH_MAIN = BuildFacts(
    repo="acme/widgets",
    sha="0123456789abcdef0123456789abcdef01234567",
    event=EventKind.PUSH,
    branch="main",
    default_branch="main",
)


def template_set(agents: frozenset[str] | None = None, **texts: str) -> TemplateSet:
    templates: dict[str, Template] = {}
    for name, text in texts.items():
        report = Report(f"templates/{name}.yaml")
        template = parse_template(name, text, report, agents)
        if template is None:
            raise PipelineError(report.sorted())
        templates[name] = template
    return TemplateSet(templates, agents)
