"""The directory secret store and how a step's secrets are laid out."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tingle.secrets import (
    DirectorySecretStore,
    SecretError,
    SecretNotFound,
    StepSecrets,
    env_name,
    open_secret_store,
    prepare_step_secrets,
    remove_build_secrets,
    remove_step_secrets,
)

KEY_JSON = b'{"type": "service_account", "private_key": "-----BEGIN...\\n"}\n'


@pytest.fixture
def store(tmp_path: Path) -> DirectorySecretStore:
    root = tmp_path / "secrets"
    folder = root / "acme" / "daily-reports"
    folder.mkdir(parents=True)
    (folder / "google-application-credentials.json").write_bytes(KEY_JSON)
    (folder / "api-token").write_bytes(b"tok-123456\n")
    (folder / "binary.bin").write_bytes(b"\x00\xff\x01")
    (root / "acme" / "other").mkdir()
    (root / "acme" / "other" / "theirs").write_bytes(b"not yours")
    return DirectorySecretStore(root)


async def test_get_and_list(store: DirectorySecretStore) -> None:
    assert await store.get("acme/daily-reports", "api-token") == b"tok-123456\n"
    assert await store.list("acme/daily-reports") == [
        "api-token",
        "binary.bin",
        "google-application-credentials.json",
    ]
    assert await store.list("acme/nothing-here") == []


async def test_a_missing_secret_is_named_in_the_error(store: DirectorySecretStore) -> None:
    with pytest.raises(SecretNotFound, match="secret 'nope' not found for acme/daily-reports"):
        await store.get("acme/daily-reports", "nope")


@pytest.mark.parametrize(
    "name", ["../other/theirs", "..", ".hidden", "a/b", "", "x" * 129, "with space", "/etc/passwd"]
)
async def test_names_that_could_leave_the_folder_are_refused(
    store: DirectorySecretStore, name: str
) -> None:
    with pytest.raises(SecretError, match="invalid secret name"):
        await store.get("acme/daily-reports", name)


@pytest.mark.parametrize("repo", ["acme", "acme/../other", "../acme/x", "acme/x/y", "/x", "a/.."])
async def test_repository_names_that_could_leave_the_root_are_refused(
    store: DirectorySecretStore, repo: str
) -> None:
    with pytest.raises(SecretError, match="invalid repository name"):
        await store.get(repo, "theirs")


def test_open_secret_store(tmp_path: Path) -> None:
    assert isinstance(open_secret_store(str(tmp_path)), DirectorySecretStore)
    store = open_secret_store(tmp_path.as_uri())
    assert isinstance(store, DirectorySecretStore) and store.root == tmp_path
    with pytest.raises(SecretError, match="'gs://' is not supported yet"):
        open_secret_store("gs://bucket")


async def test_a_step_gets_only_the_secrets_it_asked_for(
    store: DirectorySecretStore, tmp_path: Path
) -> None:
    build_dir = tmp_path / "build-secrets" / "b1"
    names = ["google-application-credentials.json", "api-token", "binary.bin"]
    secrets = await prepare_step_secrets(store, "acme/daily-reports", names, build_dir, "3")
    assert secrets.directory == build_dir / "3"
    assert sorted(p.name for p in secrets.directory.iterdir()) == sorted(names)
    assert (secrets.directory / "api-token").read_bytes() == b"tok-123456\n"
    assert stat.S_IMODE((secrets.directory / "api-token").stat().st_mode) == 0o444
    assert stat.S_IMODE(build_dir.stat().st_mode) == 0o700
    assert secrets.volumes() == {str(build_dir / "3"): {"bind": "/secrets", "mode": "ro"}}
    assert secrets.env == {
        "GOOGLE_APPLICATION_CREDENTIALS": "/secrets/google-application-credentials.json",
        "TINGLE_SECRET_GOOGLE_APPLICATION_CREDENTIALS_JSON": KEY_JSON.decode().rstrip("\n"),
        "TINGLE_SECRET_API_TOKEN": "tok-123456",  # one trailing newline dropped
        # binary.bin cannot be an environment variable: a file only
    }
    assert set(secrets.values) == {KEY_JSON, b"tok-123456\n", b"\x00\xff\x01"}
    remove_step_secrets(secrets)
    remove_step_secrets(secrets)
    assert not secrets.directory.exists()
    remove_build_secrets(build_dir)
    assert not build_dir.exists()


async def test_env_vars_are_optional_and_no_names_means_nothing(
    store: DirectorySecretStore, tmp_path: Path
) -> None:
    secrets = await prepare_step_secrets(
        store, "acme/daily-reports", ["api-token"], tmp_path / "b", "0", as_env=False
    )
    assert secrets.env == {} and secrets.directory is not None
    none = await prepare_step_secrets(store, "acme/daily-reports", [], tmp_path / "b", "1")
    assert none == StepSecrets() and none.volumes() == {}
    assert not (tmp_path / "b" / "1").exists()


async def test_a_missing_secret_fails_before_anything_is_written(
    store: DirectorySecretStore, tmp_path: Path
) -> None:
    with pytest.raises(SecretNotFound):
        await prepare_step_secrets(
            store, "acme/daily-reports", ["api-token", "nope"], tmp_path / "b", "0"
        )
    assert not (tmp_path / "b").exists()


def test_env_name() -> None:
    assert env_name("styx-sa.json") == "TINGLE_SECRET_STYX_SA_JSON"
