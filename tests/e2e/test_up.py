"""`tingle up`, the embedded default the README starts: web app and worker in one process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from testing.payloads import push_payload, send
from testing.processes import settings_env, stop
from testing.servers import free_port
from tests.e2e.test_push_to_status import build_info, step
from tingle.settings import Settings

pytestmark = pytest.mark.usefixtures("docker_client")


def test_up_prints_its_webhook_and_builds_a_push(
    settings: Settings, make_repo: Any, tmp_path: Path, fake_github: Any
) -> None:
    sha = make_repo("octo/app").commit({"build-info.yaml": build_info(step("hi", "echo up"))})
    port = free_port()
    env = settings_env(settings)
    for generated in ("TINGLE_WEBHOOK_SECRET", "TINGLE_PUBLIC_URL"):
        env.pop(generated)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tingle.cli",
            "up",
            "--port",
            str(port),
            "--state-dir",
            str(tmp_path),
            "--registry-port",
            str(free_port()),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(4)]
        assert banner[0].strip() == "Tingle is up."
        assert banner[1].split() == ["webhook", "URL:", f"http://127.0.0.1:{port}/webhooks/github"]
        secret = banner[2].split()[-1]
        assert secret == (tmp_path / "webhook-secret").read_text().strip()
        base = f"http://127.0.0.1:{port}"
        wait_ready(base)
        build_id = send(base, "push", push_payload("octo/app", sha), secret=secret).json()[
            "build_id"
        ]
        deadline = time.monotonic() + 60
        while (state := httpx.get(f"{base}/api/builds/{build_id}").json()["state"]) in (
            "queued",
            "running",
        ):
            assert time.monotonic() < deadline, "build did not finish"
            time.sleep(0.1)
        assert state == "success"
        assert httpx.get(f"{base}/api/builds/{build_id}/steps/0/log").text == "+ echo up\nup"
        fake_github.wait_for_status("octo/app", sha, "tingle", "success")
    finally:
        code = stop(process)
        if process.stdout is not None:
            process.stdout.close()
    assert code == 0  # SIGTERM stops the worker, then the web app, cleanly


def wait_ready(base: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{base}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "tingle up did not become ready"
        time.sleep(0.05)
