"""Issue 13, item 8b: secret files a SIGKILLed worker left on the host are removed by the janitor.

Before the fix the janitor removed containers and workspaces only: `SECRETS_WORK_DIR/<build>` of an
ended build stayed on disk for good (the first assertion failed)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from arq.connections import ArqRedis

from tests.engine.helpers import build_info, step
from tests.worker.conftest import Queued
from tingle.build import BuildState, StepRecord, StepState
from tingle.secrets import DirectorySecretStore, SecretError, prepare_step_secrets
from tingle.secrets.mounts import private_folder
from tingle.settings import Settings, _secrets_work_dir
from tingle.worker.build_job import WorkerContext
from tingle.worker.janitor import Janitor

INFO = build_info(step("deploy", "true"))
VALUE = b"s3cr3t-value-of-the-signing-key"


async def leave_secrets(settings: Settings, tmp_path: Path, build_id: str) -> Path:
    """What a worker killed mid-step leaves: the step's secret files, written as a worker writes
    them."""
    store_root = tmp_path / "store"
    (store_root / "octo" / "app").mkdir(parents=True, exist_ok=True)
    (store_root / "octo" / "app" / "signing-key").write_bytes(VALUE)
    build_dir = settings.secrets_work_dir / build_id
    found = await prepare_step_secrets(
        DirectorySecretStore(store_root), "octo/app", ["signing-key"], build_dir, "0"
    )
    assert found.directory is not None and (found.directory / "signing-key").read_bytes() == VALUE
    return build_dir


async def test_the_janitor_removes_secret_files_of_ended_builds_only(
    app: WorkerContext, queued: Queued, tmp_path: Path
) -> None:
    killed = await queued(INFO)  # its worker was SIGKILLed; another janitor ended it
    killed.finish(BuildState.ERROR, "its worker died 3 times; giving up")
    await app.store.save(killed)
    running = await queued(
        INFO, state=BuildState.RUNNING, worker="w:2", attempts=1,
        steps=[StepRecord("deploy", state=StepState.RUNNING)],
    )  # fmt: skip
    await app.store.heartbeat(running.id, "w:2", 60)
    left = await leave_secrets(app.settings, tmp_path, killed.id)
    in_use = await leave_secrets(app.settings, tmp_path, running.id)
    assert isinstance(app.store.redis, ArqRedis)

    await Janitor(app, app.store.redis).sweep()

    assert not left.exists()
    assert (in_use / "0" / "signing-key").read_bytes() == VALUE
    assert (app.settings.secrets_work_dir.stat().st_mode & 0o777) == 0o700


def test_secret_files_go_to_a_tmpfs_when_there_is_one_and_the_operator_wins(
    tmp_path: Path,
) -> None:
    fallback = Path("/var/lib/tingle/build-secrets")
    chosen = _secrets_work_dir({}, fallback)
    if Path("/dev/shm").is_dir():  # Linux: /dev/shm is a tmpfs
        assert str(chosen).startswith("/dev/shm/tingle-")
    assert _secrets_work_dir({"XDG_RUNTIME_DIR": str(tmp_path)}, fallback) == chosen  # not tmpfs
    env = {"TINGLE_SECRETS_WORK_DIR": str(tmp_path / "mine")}
    assert Settings.from_env(env).secrets_work_dir == tmp_path / "mine"
    assert dataclasses.replace(Settings(), secrets_work_dir=tmp_path).secrets_work_dir == tmp_path


def test_a_work_dir_someone_else_made_is_refused(tmp_path: Path) -> None:
    """On a shared tmpfs another user could make the folder first, or a link to theirs."""
    (tmp_path / "theirs").mkdir()
    (tmp_path / "planted").symlink_to(tmp_path / "theirs")
    with pytest.raises(SecretError):
        private_folder(tmp_path / "planted")
    private_folder(tmp_path / "ours")
    assert ((tmp_path / "ours").stat().st_mode & 0o777) == 0o700
