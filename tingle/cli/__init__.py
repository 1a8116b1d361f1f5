"""The `tingle` command. Each subcommand lives in its own module with a `register` function."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules under tingle.cli that add subcommands; each defines register(subparsers).
COMMAND_MODULES = (
    "service",
    "pipeline_commands",
    "exec_command",
    "reconcile_command",
    "trigger_command",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tingle", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
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
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
