"""A step's secrets on the real engine: files read-only at /secrets, env vars, and the step's
output masked on its way to the log writer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import TEST_IMAGE
from tingle.engine.log_writer import StepLogWriter
from tingle.secrets import DirectorySecretStore, Masker, prepare_step_secrets, remove_build_secrets

PEM = (
    b"-----BEGIN PRIVATE KEY-----\n"
    b"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
    b"BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
    b"-----END PRIVATE KEY-----\n"
)
SCRIPT = """
cat /secrets/key.pem
echo "token from env: $TINGLE_SECRET_API_TOKEN"
echo "token from file: $(cat /secrets/api-token)"
touch /secrets/new 2>/dev/null && echo writable || echo read-only
ls /secrets
"""


class Sink:
    def __init__(self) -> None:
        self.text: list[str] = []

    async def append_log(self, build_id: str, step_index: int, first_line: int, text: str) -> str:
        self.text.append(text)
        return "0-0"


async def test_a_step_that_prints_its_secrets_shows_them_masked(
    docker_client: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "store" / "acme" / "daily-reports"
    folder.mkdir(parents=True)
    (folder / "key.pem").write_bytes(PEM)
    (folder / "api-token").write_bytes(b"tok-7f3a9c\n")
    (folder / "unasked").write_bytes(b"never-given")
    store = DirectorySecretStore(tmp_path / "store")
    build_dir = tmp_path / "secrets" / "build-1"
    secrets = await prepare_step_secrets(
        store, "acme/daily-reports", ["key.pem", "api-token"], build_dir, "0"
    )
    try:
        output = docker_client.containers.run(
            TEST_IMAGE, ["/bin/sh", "-c", SCRIPT], environment=dict(secrets.env),
            volumes=secrets.volumes(), network_mode="none", remove=True,
        )  # fmt: skip
    finally:
        remove_build_secrets(build_dir)
    assert b"tok-7f3a9c" in output and b"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" in output  # unmasked
    sink = Sink()
    async with StepLogWriter(sink, "build-1", 0) as writer:
        masked = Masker(secrets.values).writer(writer.write)
        for i in range(0, len(output), 7):  # output arrives in arbitrary chunks
            await masked.write(output[i : i + 7])
        await masked.flush()
    log = "\n".join(sink.text)
    assert log.splitlines() == [
        "***",
        "token from env: ***",
        "token from file: ***",
        "read-only",
        "api-token",
        "key.pem",
    ]
    assert not build_dir.exists()
