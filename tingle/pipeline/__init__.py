"""From build-info.yaml text and templates to a Plan: parse, resolve, lint and compile, all pure.

Only `load_templates` touches files, once, when a worker or the CLI starts.
"""

from __future__ import annotations

from tingle.pipeline.compile import compile_plan, lint
from tingle.pipeline.problems import PipelineError, Problem
from tingle.pipeline.templates import TemplateSet, load_templates

__all__ = ["PipelineError", "Problem", "TemplateSet", "compile_plan", "lint", "load_templates"]
