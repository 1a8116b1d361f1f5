"""`tingle validate`, `tingle plan` and `tingle schema`: the pipeline compiler on the command line.

They use the same templates, agents and compiler as the worker, so what `tingle plan` prints is
what a build of that commit would run; its `delivery` adds the image tags and the commit status
contexts that build would use (`plan_delivery`).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from tingle.cli.plan_delivery import delivery_view
from tingle.pipeline import PipelineError, TemplateSet, compile_plan, lint, load_templates
from tingle.pipeline.planjson import plan_to_dict
from tingle.pipeline.schema import schema_json
from tingle.plan import BuildFacts, EventKind
from tingle.settings import Settings

BUILD_INFO = "build-info.yaml"
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


def register(subparsers: Any) -> None:
    validate = subparsers.add_parser(
        "validate",
        help=f"lint a {BUILD_INFO}, every problem at once",
        description=f"Check a {BUILD_INFO} against the templates and agents a worker has, and "
        "print every problem with its file, line, column and field. Exits 1 when there are any.",
    )
    _common(validate)
    validate.set_defaults(func=_validate)

    plan = subparsers.add_parser(
        "plan",
        help="print the plan a build would run, as JSON",
        description=f"Compile a {BUILD_INFO} with its template for the event given, and print "
        "the steps a build would run (images, commands, secrets, delivery steps) as JSON.",
    )
    _common(plan)
    plan.add_argument("--branch", default="main", help="pushed branch, or a PR's head branch")
    plan.add_argument(
        "--event",
        choices=[e.value for e in EventKind],
        default="push",
        help="what the build is for (default: push)",
    )
    plan.add_argument("--sha", default="0" * 40, help="the commit (default: 40 zeros)")
    plan.add_argument("--pr", type=int, default=None, help="pull request number")
    plan.add_argument("--fork", action="store_true", help="a pull request from a fork")
    plan.add_argument("--repo", default=None, help="owner/name (default: local/<folder name>)")
    plan.add_argument(
        "--default-branch", default="main", help="the repository's default branch (default: main)"
    )
    plan.add_argument("--base-branch", default=None, help="a PR's base (default: default branch)")
    plan.add_argument(
        "--changed",
        nargs="*",
        default=None,
        metavar="PATH",
        help="changed paths (default: unknown)",
    )
    plan.set_defaults(func=_plan)

    schema = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of build-info.yaml v2",
        description=f"Print the JSON Schema of {BUILD_INFO} version 2, for editors and other "
        "tools (the web app serves it too, at /schema/build-info.v2.json).",
    )
    schema.set_defaults(func=_schema)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", default=".", help=f"a {BUILD_INFO} or its folder")
    parser.add_argument("--templates", type=Path, default=None, help="templates folder")
    parser.add_argument("--agents", type=Path, default=None, help="agents folder")
    parser.add_argument("--agent-prefix", default=None, help="image prefix for agent names")


def _schema(args: argparse.Namespace) -> int:
    _print(schema_json(), end="")
    return 0


def _validate(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if loaded is None:
        return EXIT_USAGE
    path, text, templates = loaded
    problems = lint(text, templates, filename=str(path))
    for problem in problems:
        _print(str(problem))
    if not problems:
        _print(f"{path}: valid", file=sys.stderr)
    return EXIT_PROBLEMS if problems else 0


def _plan(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if loaded is None:
        return EXIT_USAGE
    path, text, templates = loaded
    event = EventKind(args.event)
    is_pr = event is EventKind.PULL_REQUEST
    facts = BuildFacts(
        repo=args.repo or f"local/{path.resolve().parent.name}",
        sha=args.sha,
        event=event,
        branch=args.branch,
        base_branch=(args.base_branch or args.default_branch) if is_pr else None,
        default_branch=args.default_branch,
        pr_number=args.pr,
        is_fork=args.fork,
        changed_paths=tuple(args.changed) if args.changed is not None else None,
    )
    settings = Settings.from_env()  # the operator's deploy branches, as a worker has them
    facts = replace(facts, deploy_branches=settings.deploy_branches_for(facts.repo))
    prefix = args.agent_prefix or settings.agent_image_prefix
    try:
        plan = compile_plan(text, facts, templates, agent_image_prefix=prefix, filename=str(path))
    except PipelineError as exc:
        for problem in exc.problems:
            _print(str(problem))
        return EXIT_PROBLEMS
    shown = {**plan_to_dict(plan), "delivery": delivery_view(plan, facts, settings)}
    _print(json.dumps(shown, indent=2))
    return 0


def _load(args: argparse.Namespace) -> tuple[Path, str, TemplateSet] | None:
    path = Path(args.path)
    if path.is_dir():
        path = path / BUILD_INFO
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        _print(f"tingle: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return None
    try:
        templates_dir = args.templates or Settings.from_env().templates_dir
        templates = load_templates(templates_dir, agents_dir=args.agents)
    except PipelineError as exc:
        # A broken template is the platform's problem, not this file's: say so apart.
        _print("tingle: the templates have problems:", file=sys.stderr)
        for problem in exc.problems:
            _print(f"  {problem}", file=sys.stderr)
        return None
    return path, text, templates


def _print(text: str, *, end: str = "\n", file: Any = None) -> None:
    print(text, end=end, file=file or sys.stdout)
