"""How a step receives the secrets it asked for: files in a per-step folder, mounted read-only at
`/secrets`, and (optionally) environment variables.

A step gets only the names in its own `secrets:`; the folder holds nothing else. The folder lives
outside the workspace, so a step cannot commit or `COPY` it by accident, and is removed with
`remove_step_secrets` as soon as the step ends (`remove_build_secrets` at teardown; the janitor
removes a killed worker's). The work dir holding every build's folder must be this user's own, mode
0700 (it may be on a shared tmpfs such as /dev/shm: see tingle.settings).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tingle.errors import PathError
from tingle.secrets.store import SecretError, SecretStore, check_name

SECRETS_PATH = "/secrets"  # where the step sees its secret files
# A secret with this name also sets GOOGLE_APPLICATION_CREDENTIALS, which Google's libraries read.
GOOGLE_CREDENTIALS = "google-application-credentials.json"


@dataclass(frozen=True)
class StepSecrets:
    directory: Path | None = None  # on the host; None when the step asked for no secret
    env: Mapping[str, str] = field(default_factory=dict)
    values: tuple[bytes, ...] = ()  # for the Masker; never store or log these

    def volumes(self) -> dict[str, dict[str, str]]:
        """docker SDK `volumes=` entries: the folder, read-only at /secrets."""
        if self.directory is None:
            return {}
        return {str(self.directory): {"bind": SECRETS_PATH, "mode": "ro"}}


def env_name(secret: str) -> str:
    """`styx-sa.json` → `TINGLE_SECRET_STYX_SA_JSON`."""
    return "TINGLE_SECRET_" + re.sub(r"[^A-Z0-9]", "_", secret.upper())


async def prepare_step_secrets(
    store: SecretStore,
    repo: str,
    names: Iterable[str],
    build_dir: Path,
    step_key: str,
    *,
    as_env: bool = True,
) -> StepSecrets:
    """Fetch `names` for `repo` and write them to `build_dir/step_key/` (`build_dir` is Tingle's
    own folder for this build, made mode 0700 so other users on the host cannot read the files).
    With `as_env`, each text value is also an environment variable (see `env_name`)."""
    wanted = [check_name(name) for name in dict.fromkeys(names)]
    if not wanted:
        return StepSecrets()
    values = {name: await store.get(repo, name) for name in wanted}
    directory = build_dir / check_name(step_key)
    try:
        await asyncio.to_thread(_write_files, directory, values)
    except OSError as exc:
        raise PathError("write the step's secret files in", directory, exc) from exc
    env: dict[str, str] = {}
    for name, value in values.items():
        if name == GOOGLE_CREDENTIALS:
            env["GOOGLE_APPLICATION_CREDENTIALS"] = f"{SECRETS_PATH}/{name}"
        text = _as_text(value)
        if as_env and text is not None:
            env[env_name(name)] = text
    return StepSecrets(directory, env, tuple(values.values()))


def _write_files(directory: Path, values: Mapping[str, bytes]) -> None:
    private_folder(directory.parent.parent)
    directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.parent.chmod(0o700)
    # Readable inside the container whatever user the step's image runs as.
    directory.mkdir(mode=0o755, exist_ok=True)
    for name, value in values.items():
        path = directory / name
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        with os.fdopen(fd, "wb") as handle:
            handle.write(value)


def private_folder(folder: Path) -> None:
    """Make `folder` (mode 0700) or check that it is this user's own folder, not a link: on a
    shared tmpfs another user could have made it first, to read or swap what goes in."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise SecretError(f"the secrets work dir {folder} is not a folder of this user's")
    if stat.S_IMODE(info.st_mode) != 0o700:
        folder.chmod(0o700)


def remove_step_secrets(secrets: StepSecrets) -> None:
    """Remove one step's files. Safe to call twice."""
    if secrets.directory is not None:
        shutil.rmtree(secrets.directory, ignore_errors=True)


def remove_build_secrets(build_dir: Path) -> None:
    """Remove every step's files of a build (teardown, or a janitor after a crash)."""
    shutil.rmtree(build_dir, ignore_errors=True)


def _as_text(value: bytes) -> str | None:
    """The value as an environment variable, or None when it cannot be one (binary, NUL). One
    trailing newline is dropped: a file saved by an editor ends with one, a header must not."""
    if b"\0" in value:
        return None
    try:
        text = value.decode()
    except UnicodeDecodeError:
        return None
    return text.removesuffix("\n").removesuffix("\r")
