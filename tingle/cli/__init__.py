"""The `tingle` command: one parser, each subcommand in its own module with a `register(subparsers)`
function (COMMAND_MODULES). What users read is DESCRIPTION and each subparser's `description`;
module docstrings stay for developers.

A misconfigured process says so in one line on stderr and exits 2, with no traceback: a setting
that is missing or malformed (SettingError, naming its variable), a folder of Tingle's it cannot
use (PathError, naming the path), a bad option (argparse's message, without the usage block)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from tingle.errors import PathError, SettingError

# Modules under tingle.cli that add subcommands; each defines register(subparsers).
COMMAND_MODULES = (
    "service", "pipeline_commands", "exec_command", "reconcile_command", "run_workflow_command",
    "trigger_command",
)  # fmt: skip
EXIT_USAGE = 2

DESCRIPTION = (
    "Tingle: continuous delivery for GitHub repositories. GitHub sends Tingle a webhook for every "
    "push and pull request; Tingle checks out the commit, runs the steps its build-info.yaml "
    "names in Docker containers, and reports back as commit statuses linking to the build's logs."
)
EPILOG = (
    "Settings come from TINGLE_* environment variables (see the README). "
    "'tingle COMMAND --help' tells more of each command."
)


class CommandLine(argparse.ArgumentParser):
    """argparse, whose errors are one line (its usage block is a --help away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandLine(prog="tingle", description=DESCRIPTION, epilog=EPILOG)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"tingle.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tingle.cli.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except (SettingError, PathError) as exc:
        print(f"tingle {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return result


if __name__ == "__main__":
    sys.exit(main())
