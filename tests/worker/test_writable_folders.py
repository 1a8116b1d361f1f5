"""A worker that cannot write its folders says so at start-up, naming the path and its uid, instead
of failing its first build's checkout."""

from __future__ import annotations

import dataclasses
import os
import signal
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tingle.settings import Settings
from tingle.worker.writable_folders import (
    Folder,
    FolderNotWritable,
    check_worker_folders,
    check_writable,
    worker_folders,
)

WORKER_UID = 10001  # the Dockerfile's user


def test_a_missing_folder_is_made_private_and_left_empty(tmp_path: Path) -> None:
    root = tmp_path / "a" / "workspaces"
    check_writable(Folder("TINGLE_WORKSPACE_ROOT", root))
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert list(root.iterdir()) == []  # the probe file is gone


def test_a_file_where_the_folder_should_be_names_setting_and_path(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("not a folder")
    root = tmp_path / "taken" / "workspaces"
    with pytest.raises(FolderNotWritable) as raised:
        check_writable(Folder("TINGLE_WORKSPACE_ROOT", root))
    message = str(raised.value)
    assert f"TINGLE_WORKSPACE_ROOT {root} is not writable" in message
    assert f"uid {os.getuid()}" in message
    assert f"{tmp_path / 'taken'} is owned by uid {os.getuid()}" in message


def test_a_leftover_probe_link_is_not_followed(tmp_path: Path) -> None:
    """A link planted at the probe's name (by whoever else can write a shared folder) is never
    written through."""
    target = tmp_path / "elsewhere"
    root = tmp_path / "root"
    root.mkdir()
    (root / f".tingle-write-check-{os.getpid()}").symlink_to(target)
    with pytest.raises(FolderNotWritable, match="File exists"):
        check_writable(Folder("TINGLE_WORKSPACE_ROOT", root))
    assert not target.exists()


def test_the_worker_checks_workspaces_secret_files_and_a_local_archive(tmp_path: Path) -> None:
    settings = Settings(
        workspace_root=tmp_path / "ws",
        secrets_work_dir=tmp_path / "bs",
        archive_url=f"file://{tmp_path / 'archive'}",
    )
    assert [(f.setting, f.path) for f in worker_folders(settings)] == [
        ("TINGLE_WORKSPACE_ROOT", tmp_path / "ws"),
        ("TINGLE_SECRETS_WORK_DIR", tmp_path / "bs"),
        ("TINGLE_ARCHIVE_URL", tmp_path / "archive"),
    ]
    check_worker_folders(settings)
    assert all((tmp_path / name).is_dir() for name in ("ws", "bs", "archive"))
    in_the_cloud = dataclasses.replace(settings, archive_url="s3://bucket/logs")
    assert [f.setting for f in worker_folders(in_the_cloud)] == [
        "TINGLE_WORKSPACE_ROOT",
        "TINGLE_SECRETS_WORK_DIR",
    ]


@pytest.fixture
def root_owned_root() -> Iterator[Path]:
    """A folder as the engine makes a missing bind-mount source: root's, 0755. Outside pytest's
    tmp folders, which are 0700 (the worker's uid must reach it to be refused by it)."""
    if os.geteuid() != 0:
        pytest.skip("needs root, to make a root-owned folder and start a worker as another uid")
    base = Path(tempfile.mkdtemp(prefix="tingle-root-owned-"))
    base.chmod(0o755)
    root = base / "workspaces"
    root.mkdir(mode=0o755)
    yield root
    root.rmdir()
    base.rmdir()


def test_tingle_worker_as_its_uid_refuses_a_root_owned_workspace_root(
    root_owned_root: Path,
) -> None:
    """`tingle worker` itself, as the image's uid, with a Redis that does not exist: it must stop
    at the folder check, before any connection, with the path and the uid in its error."""
    code, stderr = _run_worker_as(
        WORKER_UID,
        {
            "TINGLE_WORKSPACE_ROOT": str(root_owned_root),
            "TINGLE_REDIS_URL": "redis://127.0.0.1:1/0",
            "TINGLE_SECRETS_WORK_DIR": str(root_owned_root.parent / "never-reached"),
        },
    )
    assert code == 2
    assert stderr.startswith(f"tingle worker: TINGLE_WORKSPACE_ROOT {root_owned_root} is not ")
    assert f"(uid {WORKER_UID}, gid {WORKER_UID})" in stderr
    assert "Permission denied; it is owned by uid 0 gid 0, mode 0755" in stderr
    assert f"install -d -o {WORKER_UID} -g {WORKER_UID} -m 0700 {root_owned_root}" in stderr
    assert list(root_owned_root.iterdir()) == []


def _run_worker_as(uid: int, env: dict[str, str]) -> tuple[int, str]:
    """Fork, drop to `uid` in the child and run `tingle worker` there (the interpreter's own
    folder may be closed to that uid, so it cannot be exec'd as it); its exit code and stderr."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            os.close(read_end)
            signal.alarm(20)  # a worker that got past the check would retry Redis for ever
            os.dup2(write_end, 2)
            sys.stderr = os.fdopen(2, "w")  # pytest's capture had replaced it
            os.environ.update(env)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            from tingle.cli import main

            code = main(["worker"])
        except BaseException as exc:
            print(f"child failed: {exc!r}", file=sys.stderr, flush=True)
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        output = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output
