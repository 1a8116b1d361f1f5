"""`tingle exec [PATH]`: run a repository's build on the local Docker engine, like `drone exec`.

The same compiler and runner as the worker; only the source of the code (a copy of PATH, with
uncommitted changes) and the audience of the progress (this terminal) differ.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tingle.build import Build, BuildState
from tingle.plan import EventKind
from tingle.settings import Settings

EXIT_CODES = {
    BuildState.SUCCESS: 0,
    BuildState.SKIPPED: 0,
    BuildState.FAILURE: 1,
    BuildState.ERROR: 2,
    BuildState.CANCELLED: 130,
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "exec",
        help="run PATH's build-info.yaml on the local Docker engine",
        description="Run the build of a local repository (its working tree, as it is) on the "
        "local Docker engine, as a worker would, printing each step's log. Nothing is reported "
        "to GitHub. Exits 0 on success, 1 when a step fails, 2 when the infrastructure does.",
    )
    parser.add_argument(
        "path", nargs="?", default=".", type=Path, help="the repository's folder (default: .)"
    )
    parser.add_argument("--branch", help="branch the build is for (default: the checked-out one)")
    parser.add_argument(
        "--event",
        choices=[e.value for e in EventKind],
        default="push",
        help="what the build is for (default: push)",
    )
    parser.add_argument("--pr", type=int, help="pull request number, for --event pull_request")
    parser.add_argument("--repo", help="owner/name (default: from the origin remote or folder)")
    parser.add_argument("--network", help="network of step containers (default: host)")
    parser.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="give steps that ask for secret NAME the contents of FILE (repeatable)",
    )
    parser.set_defaults(func=_exec)


class ExplicitSecrets:
    """The secrets given on the command line: `tingle exec` reads no secret store."""

    def __init__(self, pairs: list[str]) -> None:
        self._values: dict[str, bytes] = {}
        for pair in pairs:
            name, sep, path = pair.partition("=")
            if not sep or not name:
                raise SystemExit(f"--secret: expected NAME=FILE, got {pair!r}")
            self._values[name] = Path(path).read_bytes()

    async def get(self, repo: str, name: str) -> bytes:
        from tingle.secrets import SecretNotFound

        if name not in self._values:
            raise SecretNotFound(f"secret '{name}' was not given (--secret {name}=FILE)")
        return self._values[name]

    async def list(self, repo: str) -> list[str]:
        return sorted(self._values)


class ConsoleEvents:
    """Progress for a person at a terminal: step starts and ends, and every log line."""

    def __init__(self, out: Any = sys.stdout) -> None:
        self._out = out
        self._seen: dict[str, str] = {}
        self._build: Build | None = None

    async def changed(self, build: Build) -> None:
        self._build = build
        for step in build.steps:
            if self._seen.get(step.name) != step.state:
                self._seen[step.name] = step.state
                detail = "" if step.exit_code is None else f" (exit {step.exit_code})"
                print(f"--- {step.name}: {step.state}{detail}", file=self._out, flush=True)

    async def append_log(self, build_id: str, step_index: int, first_line: int, text: str) -> str:
        name = self._build.steps[step_index].name if self._build else str(step_index)
        for line in text.split("\n"):
            print(f"[{name}] {line}", file=self._out)
        self._out.flush()
        return f"{first_line}-0"


def _exec(args: argparse.Namespace) -> int:
    from tingle.engine.factory import engine_options, make_runner, runner_config
    from tingle.executor.docker import DockerEngine, connect
    from tingle.logging_setup import configure_logging
    from tingle.pipeline import load_templates

    settings = Settings.from_env()
    configure_logging("console")
    source: Path = args.path.resolve()
    build = local_build(source, args)
    engine = DockerEngine(
        connect(), engine_options(settings, worker=None, network=args.network or "host")
    )
    with tempfile.TemporaryDirectory(prefix="tingle-exec-") as scratch:
        config = runner_config(
            settings,
            load_templates(settings.templates_dir),
            workspace_root=Path(scratch) / "workspaces",
            secrets_dir=Path(scratch) / "secrets",
            build_timeout_seconds=None,  # a person at a terminal stops it when they want
            step_log_limit=None,  # and sees every line (long ones cut, as a worker cuts them)
            build_log_limit=None,
        )
        runner = make_runner(
            settings, config, engine, ConsoleEvents(), "", secrets=ExplicitSecrets(args.secret)
        )

        async def copy(workspace: Path) -> None:
            await asyncio.to_thread(_copy_tree, source, workspace)

        asyncio.run(runner.run(build, copy))
    for problem in build.problems:
        print(problem, file=sys.stderr)
    print(f"build {build.state}" + (f": {build.reason}" if build.reason else ""))
    return EXIT_CODES.get(build.state, 2)


def local_build(source: Path, args: argparse.Namespace) -> Build:
    sha = _git(source, "rev-parse", "HEAD") or "0" * 40
    branch = args.branch or _git(source, "rev-parse", "--abbrev-ref", "HEAD") or "main"
    repo = (
        args.repo
        or _repo_from_remote(_git(source, "remote", "get-url", "origin"))
        or (f"local/{source.name}")
    )
    return Build(
        id="local",
        repo=repo,
        sha=sha,
        ref=f"refs/heads/{branch}",
        event=args.event,
        clone_url=source.as_uri(),
        branch=branch,
        pr_number=args.pr,
        default_branch=branch,
    )


def _repo_from_remote(url: str) -> str:
    """owner/name from git@host:owner/name.git or https://host/owner/name.git."""
    path = url.rsplit(":", 1)[-1] if "://" not in url else url.split("://", 1)[1].split("/", 1)[-1]
    parts = path.removesuffix(".git").strip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else ""


def _git(cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return ""
    return done.stdout.strip()


def _copy_tree(source: Path, workspace: Path) -> None:
    if workspace.exists():
        shutil.rmtree(workspace)
    shutil.copytree(source, workspace, symlinks=True, ignore=shutil.ignore_patterns(".tingle"))
