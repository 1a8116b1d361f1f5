"""compose.yaml driven the way an operator drives it: Debian's docker-compose (installed when
missing), an env file prepared by scripts/compose-env.sh, one project name per run, and
`down -v` at the end whatever happened."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILES = (ROOT / "compose.yaml", Path(__file__).resolve().parent / "smoke.compose.yaml")
# What docker-compose may see of this process's environment: nothing that could override the
# env file (compose prefers the environment's values to the file's).
_PASSED_ON = ("PATH", "HOME", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY")


def ensure_docker_compose() -> str:
    """The docker-compose command, after installing Debian's package if it is missing."""
    found = shutil.which("docker-compose")
    if found is None:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "docker-compose"],
            check=True,
            capture_output=True,
            env=env,
        )
        found = shutil.which("docker-compose")
    if found is None:
        raise RuntimeError("docker-compose is not on the PATH after installing it")
    return found


def write_env_file(path: Path, values: dict[str, str]) -> None:
    """.env.example with `values` in place of its own (and those it lacks appended)."""
    lines, missing = [], dict(values)
    for line in (ROOT / ".env.example").read_text().splitlines():
        name = line.partition("=")[0]
        lines.append(f"{name}={missing.pop(name)}" if name in missing else line)
    lines += [f"{name}={value}" for name, value in missing.items()]
    path.write_text("\n".join(lines) + "\n")


def read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.partition("=") for line in path.read_text().splitlines())
    return {name: value for name, sep, value in pairs if sep and not name.startswith("#")}


@dataclass(frozen=True)
class Stack:
    compose: str
    project: str
    env_file: Path

    def run(self, *args: str, timeout: float = 300, check: bool = True) -> str:
        files = [option for path in COMPOSE_FILES for option in ("-f", str(path))]
        command = [self.compose, "--project-name", self.project, "--env-file", str(self.env_file)]
        done = subprocess.run(
            [*command, *files, *args],
            cwd=ROOT,
            env={name: os.environ[name] for name in _PASSED_ON if name in os.environ},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"docker-compose {' '.join(args)}: {done.stderr.strip()[-3000:]}")
        return done.stdout + done.stderr

    def containers(self) -> list[dict[str, Any]]:
        """`docker inspect` of every container of the project."""
        ids = subprocess.run(
            ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}"],
            check=True, capture_output=True, text=True,
        ).stdout.split()  # fmt: skip
        if not ids:
            return []
        found: list[dict[str, Any]] = json.loads(
            subprocess.run(
                ["docker", "inspect", *ids], check=True, capture_output=True, text=True
            ).stdout
        )
        return found

    def volumes(self) -> list[str]:
        label = f"label=com.docker.compose.project={self.project}"
        return subprocess.run(
            ["docker", "volume", "ls", "-q", "--filter", label],
            check=True, capture_output=True, text=True,
        ).stdout.split()  # fmt: skip

    def services(self) -> dict[str, list[dict[str, Any]]]:
        by_service: dict[str, list[dict[str, Any]]] = {}
        for container in self.containers():
            service = container["Config"]["Labels"]["com.docker.compose.service"]
            by_service.setdefault(service, []).append(container)
        return by_service

    def wait_healthy(self, expected: dict[str, int], timeout: float) -> None:
        """Until every service runs `expected[service]` containers, all of them healthy."""
        deadline = time.monotonic() + timeout
        while True:
            health = {
                service: [c["State"].get("Health", {}).get("Status") for c in containers]
                for service, containers in self.services().items()
            }
            if all(health.get(name, []) == ["healthy"] * n for name, n in expected.items()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not healthy after {timeout:.0f}s: {health}\n{self.logs()}")
            time.sleep(1)

    def logs(self) -> str:
        return self.run("logs", "--no-color", "--tail", "60", check=False)[-20000:]

    def down(self) -> None:
        self.run("down", "-v", "--remove-orphans", "--timeout", "20", check=False)
