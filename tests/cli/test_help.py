"""Issue 18, item 5: `tingle --help` and each command's `--help` are written for the people who run
Tingle: what it is, what each command does, what each option means; no developer's notes.

Before the change `tingle --help` began "The `tingle` command. Each subcommand lives in its own
module with a `register` function.", and no command's --help said what the command does.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from tingle.cli import build_parser

# Words of the code, not of its use.
DEVELOPER_WORDS = ("register", "module", "subcommand", "docstring", "tingle.cli", "`", "TODO")


def commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    found = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(found.choices)


def test_tingle_help_says_what_tingle_is() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tingle.cli", "--help"], capture_output=True, text=True, check=True
    )
    text = " ".join(done.stdout.split())
    assert "Tingle: continuous delivery for GitHub repositories." in text
    assert not [word for word in DEVELOPER_WORDS if word in text], text
    for name in commands():
        assert f" {name} " in text  # each command listed with its purpose


def test_every_command_is_there() -> None:
    assert set(commands()) == {
        "serve", "worker", "up", "validate", "plan", "schema", "exec", "reconcile",
        "run-workflow", "trigger",
    }  # fmt: skip


@pytest.mark.parametrize("name", sorted(commands()))
def test_each_command_s_help_describes_it_and_every_option(name: str) -> None:
    command = commands()[name]
    assert command.description and len(command.description.split()) >= 8, name
    unexplained = [
        action.dest
        for action in command._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert unexplained == [], f"tingle {name}: options without help: {unexplained}"
    text = command.format_help()
    assert not [word for word in DEVELOPER_WORDS if word in text], text
