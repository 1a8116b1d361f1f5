"""`tingle exec` runs a sample project's build on the local engine, in an agent image built from
agents/, through the same compiler and runner as a webhook build."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from testing.payloads import pull_request_payload, send
from tests.conftest import WEBHOOK_SECRET
from tests.e2e.test_push_to_status import log_of, record
from tingle.settings import Settings

pytestmark = pytest.mark.usefixtures("docker_client")

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "python-app"


def tingle(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tingle.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "python-app"
    shutil.copytree(SAMPLE, copy)
    return copy


def test_exec_runs_the_pytest_suite_in_the_python_agent(project: Path) -> None:
    done = tingle("exec", str(project), "--event", "pull_request", "--network", "none")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[test] 2 passed" in done.stdout
    assert "--- build: success" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "build success"


def test_exec_fails_when_a_test_fails(project: Path) -> None:
    tests = project / "tests" / "test_calc.py"
    tests.write_text(tests.read_text().replace("== 5", "== 6"))
    done = tingle("exec", str(project), "--event", "pull_request", "--network", "none")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 1 passed" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "build failure: step 'test' failed (exit 1)"


def test_exec_reports_a_broken_build_info_with_positions(project: Path) -> None:
    (project / "build-info.yaml").write_text("version: 2\ntemplate:\n  type: pyhton\n")
    done = tingle("exec", str(project))
    assert done.returncode == 1
    assert (
        "build-info.yaml:3:9 template.type: unknown template 'pyhton' (did you mean 'python'?)"
        in done.stderr
    )


def test_a_webhook_build_of_the_sample_shows_the_planned_steps(
    web: str, settings: Settings, make_repo: Any, run_worker: Any, project: Path
) -> None:
    planned = tingle("plan", str(project), "--branch", "feature", "--event", "pull_request")
    assert planned.returncode == 0, planned.stderr
    plan_steps = [step["name"] for step in json.loads(planned.stdout)["steps"]]

    files = {str(p.relative_to(project)): p.read_text() for p in project.rglob("*") if p.is_file()}
    sha = make_repo("octo/python-app").commit(files)
    payload = pull_request_payload("octo/python-app", sha, number=8)
    build_id = send(web, "pull_request", payload, secret=WEBHOOK_SECRET).json()["build_id"]
    run_worker()

    build = record(settings, build_id)
    assert build["state"] == "success", build["reason"]
    assert [s["name"] for s in build["steps"]] == plan_steps == ["install", "test", "build"]
    assert "2 passed" in log_of(settings, build_id, 1)
