"""Issue 18, item 5: a folder Tingle must write that it cannot is named at start-up, with what was
tried, in one line, exit code 2; on a real read-only folder (mode 0500, and when the tests run
as root, run without the capabilities that let root ignore modes: testing/unprivileged.py).

Before the change `tingle worker` took the PermissionError of its archive folder for a lost
Redis, logged "lost redis; reconnecting" every 2 s and never stopped; `tingle serve` printed
uvicorn's traceback of its start-up; `tingle up` a traceback of `mkdir`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.startup import run_tingle


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    yield folder
    folder.chmod(0o700)  # so that pytest can remove it


@pytest.mark.parametrize(
    ("command", "variable", "below", "says"),
    [
        ("worker", "TINGLE_WORKSPACE_ROOT", "workspaces",
         "cannot make the workspace root (TINGLE_WORKSPACE_ROOT) {path}: permission denied"),
        ("worker", "TINGLE_WORKSPACE_ROOT", "",
         "cannot write in the workspace root (TINGLE_WORKSPACE_ROOT) {path}: permission denied"),
        ("worker", "TINGLE_SECRETS_WORK_DIR", "secrets",
         "cannot make the secrets work dir (TINGLE_SECRETS_WORK_DIR) {path}: permission denied"),
        ("worker", "TINGLE_ARCHIVE_URL", "archive",
         "cannot make the log archive (TINGLE_ARCHIVE_URL) {path}: permission denied"),
        ("serve", "TINGLE_ARCHIVE_URL", "archive",
         "cannot make the log archive (TINGLE_ARCHIVE_URL) {path}: permission denied"),
    ],
)  # fmt: skip
def test_a_folder_that_cannot_be_written_stops_the_process_naming_it(
    tmp_path: Path, read_only: Path, command: str, variable: str, below: str, says: str
) -> None:
    path = read_only / below if below else read_only
    env = {variable: str(path), "TINGLE_WEBHOOK_SECRET": "s"}
    done = run_tingle([command], env, tmp_path, file_modes_bind=True)
    assert done.code == 2, done.stderr
    assert done.stderr_lines == [f"tingle {command}: {says.format(path=path)}"]


def test_up_names_a_state_folder_it_cannot_make(tmp_path: Path, read_only: Path) -> None:
    state = read_only / "state"
    done = run_tingle(["up", "--state-dir", str(state)], {}, tmp_path, file_modes_bind=True)
    assert done.code == 2, done.stderr
    assert done.stderr_lines == [
        f"tingle up: cannot make the state folder (--state-dir) {state}: permission denied"
    ]


def test_a_folder_below_a_file_is_named_with_where_it_failed(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    root = blocker / "workspaces"
    done = run_tingle(["worker"], {"TINGLE_WORKSPACE_ROOT": str(root)}, tmp_path)
    assert done.code == 2, done.stderr
    assert done.stderr_lines == [
        f"tingle worker: cannot make the workspace root (TINGLE_WORKSPACE_ROOT) {root}: "
        "not a directory"
    ]
