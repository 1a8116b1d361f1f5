"""Step containers confined (issue 13, item 6), on the real Docker engine: what a worker's step
container is given (HostConfig), and a step that leaves a setuid-root program in its workspace.

On the code before: no SecurityOpt, no CapDrop, no memory limit by default (TINGLE_STEP_MEMORY
unset), the workspace root as made (0755 from a plain mkdir) on the host's own mount, where the
setuid bit held. Checked on a worktree of the code before: CapAdd was None, the root 0o755, its
mount not nosuid, and `setpriv --reuid=65534 <workspace>/rootid -u` printed 0 (root)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tingle.engine.factory import engine_options
from tingle.executor.docker import BUILD_LABEL, DockerEngine
from tingle.executor.workspace_mount import confined
from tingle.plan import RunStep
from tingle.settings import Settings

DEBIAN = "tingle/debian:bookworm"  # scripts/base-images.sh
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture
def workspace_root() -> Iterator[Path]:
    """A workspace root outside the tests' own (already nosuid) folders, as a worker's would be:
    the executor mounts it itself. Unmounted and removed after."""
    root = Path(tempfile.mkdtemp(prefix="tingle-confinement-", dir="/tmp")) / "workspaces"
    yield root
    subprocess.run(["umount", str(root)], check=False, capture_output=True)
    shutil.rmtree(root.parent, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="the workspace mount needs root, as dockerd does")
async def test_a_step_runs_confined_and_its_setuid_program_gives_the_host_nothing(
    docker_client: Any, workspace_root: Path
) -> None:
    build_id = f"confined-{os.getpid()}"
    options = engine_options(Settings(docker_network="none"), worker="test-worker:1")
    executor = DockerEngine(docker_client, options).executor()
    workspace = workspace_root / build_id
    workspace.mkdir(parents=True)  # as a checkout makes it, before the executor's setup
    output = bytearray()

    async def collect(chunk: bytes) -> None:
        output.extend(chunk)

    attack = ("cp /usr/bin/id rootid", "chmod 4755 rootid", "stat -c %A:%U rootid")
    await executor.setup(build_id, workspace)
    try:
        result = await executor.run(RunStep("attack", DEBIAN, attack), {}, collect)
        assert result.ok, output.decode()
        assert b"-rwsr-xr-x:root" in output  # the step made it: root in its container may
        [container] = docker_client.containers.list(
            all=True, filters={"label": f"{BUILD_LABEL}={build_id}"}
        )
        host = container.attrs["HostConfig"]
    finally:
        await executor.teardown()

    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["CapDrop"] == ["ALL"]
    assert sorted(host["CapAdd"]) == ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]
    assert host["Memory"] == 4 * 1024**3  # TINGLE_STEP_MEMORY's default, 4g
    assert host["PidsLimit"] == 4096  # TINGLE_STEP_PIDS's default

    mode, nosuid, ran = await asyncio.to_thread(from_the_host, workspace)
    assert mode == 0o700  # the workspace root: no other host user gets in
    assert nosuid  # and the mount is nosuid,nodev
    assert (ran.returncode, ran.stdout.strip()) == (0, "65534"), ran.stderr  # euid not 0


def from_the_host(workspace: Path) -> tuple[int, bool, subprocess.CompletedProcess[str]]:
    """The root's mode, whether the workspace's mount is confined, and what `rootid -u` says when
    a host user runs it with the root opened to everyone: the setuid bit means nothing."""
    root = workspace.parent
    mode = root.stat().st_mode & 0o777
    os.chmod(root.parent, 0o755)
    os.chmod(root, 0o755)
    ran = subprocess.run([*NOBODY, str(workspace / "rootid"), "-u"], capture_output=True, text=True)
    return mode, confined(workspace), ran
