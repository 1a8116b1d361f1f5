"""read_workspace_file on real files, links and FIFOs, and data-info.yaml read through it.

Before the change build-info.yaml was read with `Path.read_text` after `is_file()` (both follow
links; a FIFO blocked the worker's event loop, a huge file was read whole), and data-info.yaml
with `resolve()` then `read_text` (the same FIFO and size problems, a race between the two).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tingle.deploy.deploy import load_data_info
from tingle.errors import DeliveryError
from tingle.workspace_files import UnsafeFile, read_workspace_file


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    (path / "deploy").mkdir(parents=True)
    (path / "build-info.yaml").write_text("version: 2\n")
    (path / "deploy" / "data-info.yaml").write_text("facts: {workflows: []}\n")
    (tmp_path / "host.txt").write_text("HOSTSECRET\n")
    return path


def test_a_regular_file_is_read(workspace: Path) -> None:
    assert read_workspace_file(workspace, "build-info.yaml") == b"version: 2\n"
    assert read_workspace_file(workspace, "./deploy//data-info.yaml") is not None


@pytest.mark.parametrize("name", ["missing.yaml", "deploy/missing.yaml", "nowhere/x.yaml"])
def test_a_missing_file_is_none(workspace: Path, name: str) -> None:
    assert read_workspace_file(workspace, name) is None


def test_a_file_where_a_directory_would_be_is_missing(workspace: Path) -> None:
    assert read_workspace_file(workspace, "build-info.yaml/x") is None


@pytest.mark.parametrize("target", ["../host.txt", "build-info.yaml", "/etc/hostname"])
def test_a_symbolic_link_is_refused_wherever_it_points(workspace: Path, target: str) -> None:
    (workspace / "link.yaml").symlink_to(target)
    with pytest.raises(UnsafeFile, match=r"^link\.yaml: is a symbolic link; refused$"):
        read_workspace_file(workspace, "link.yaml")


@pytest.mark.parametrize("target", ["..", "deploy", "/etc"])
def test_a_symbolic_link_on_the_way_is_refused(workspace: Path, target: str) -> None:
    (workspace / "linked").symlink_to(target)
    with pytest.raises(UnsafeFile, match=r"^linked/x\.yaml: linked is a symbolic link; refused$"):
        read_workspace_file(workspace, "linked/x.yaml")


@pytest.mark.parametrize("name", ["../host.txt", "/etc/hostname", "deploy/../../host.txt", ""])
def test_a_path_out_of_the_workspace_is_refused(workspace: Path, name: str) -> None:
    with pytest.raises(UnsafeFile, match="outside the repository"):
        read_workspace_file(workspace, name)


def test_a_fifo_is_refused_without_waiting_for_a_writer(workspace: Path) -> None:
    os.mkfifo(workspace / "fifo.yaml")
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_workspace_file(workspace, "fifo.yaml")
        except UnsafeFile as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)  # the old code would block here forever
    reader.start()
    reader.join(5)
    assert [str(exc) for exc in outcome] == ["fifo.yaml: not a regular file; refused"]


def test_a_directory_and_a_large_file_are_refused(workspace: Path) -> None:
    with pytest.raises(UnsafeFile, match=r"^deploy: not a regular file; refused$"):
        read_workspace_file(workspace, "deploy")
    (workspace / "big.yaml").write_bytes(b"x" * 2049)
    with pytest.raises(UnsafeFile, match=r"^big\.yaml: larger than 2048 bytes; refused$"):
        read_workspace_file(workspace, "big.yaml", max_bytes=2048)
    assert read_workspace_file(workspace, "big.yaml", max_bytes=4096) == b"x" * 2049


def test_data_info_is_read_the_same_way(workspace: Path) -> None:
    assert load_data_info(workspace, "deploy/data-info.yaml").workflows == ()
    (workspace / "data-info.yaml").symlink_to(workspace.parent / "host.txt")
    with pytest.raises(DeliveryError, match=r"^data-info\.yaml: is a symbolic link; refused$"):
        load_data_info(workspace, "data-info.yaml")
    os.mkfifo(workspace / "fifo.yaml")
    with pytest.raises(DeliveryError, match=r"fifo\.yaml: not a regular file"):
        load_data_info(workspace, "fifo.yaml")
