"""`tingle run-workflow` on the real Docker engine: a data pipeline's workflow run for a partition
as Styx would run it, through the command as a person types it.

The probe pipeline is a small image FROM tingle/busybox whose entrypoint prints its arguments and
its Styx environment, then exits with the code named after `--exit` (or sleeps after `--sleep`,
prints the mounted key after `--key`); its labels are those Tingle's image builds give."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tingle.executor.docker_workflow import RUN_LABEL

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "data-pipeline"
SHA = "5f3c0c7d4e2b1a0998877665544332211ffeeddc"
PARTITION = "2026-12-07"

PROBE_SCRIPT = r"""
for arg in "$@"; do echo "arg: $arg"; done
env | grep -E '^(STYX_|GOOGLE_APPLICATION_CREDENTIALS=|MODE=|REGION=)' | sort | sed 's/^/env: /'
code=0
while [ $# -gt 0 ]; do
  case "$1" in
    --exit) code=$2; shift ;;
    --sleep) echo sleeping; sleep "$2"; shift ;;
    --key) echo "key: $(cat "$GOOGLE_APPLICATION_CREDENTIALS")"
           if (echo x >> "$GOOGLE_APPLICATION_CREDENTIALS") 2>/dev/null; then echo "key: writable"
           else echo "key: read-only"; fi ;;
  esac
  shift
done
exit "$code"
"""

PROBE_DOCKERFILE = f"""FROM tingle/busybox:latest
COPY pipeline.sh /pipeline.sh
LABEL org.opencontainers.image.revision={SHA}
LABEL org.opencontainers.image.source=https://github.com/octo/probe-pipeline
ENTRYPOINT ["/bin/sh", "/pipeline.sh"]
"""

DATA_INFO = """facts:
  workflows:
    - id: daily-report
      schedule: daily
      docker_args: [--partition, "{}", "--date={}", --exit, "0"]
      service_account: reports@example-project.iam.gserviceaccount.com
      env: {MODE: full, REGION: eu, STYX_PARAMETER: forged}
    - id: waits-for-upstream
      schedule: daily
      docker_args: [--exit, "20"]
    - id: bad-input
      schedule: daily
      docker_args: [--exit, "50"]
    - id: flaky
      schedule: hourly
      docker_args: [--exit, "3"]
      retry_condition: "tries < 3"
    - id: with-key
      schedule: daily
      docker_args: [--key]
    - id: slow
      schedule: daily
      docker_args: [--sleep, "60"]
      running_timeout: 2
    - id: sleeper
      schedule: daily
      docker_args: [--sleep, "60"]
    - id: image-default
      schedule: daily
"""


def tingle(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tingle.cli", "run-workflow", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def arguments(stdout: str) -> list[str]:
    return [line.removeprefix("arg: ") for line in stdout.splitlines() if line.startswith("arg: ")]


def environment(stdout: str) -> dict[str, str]:
    lines = [line for line in stdout.splitlines() if line.startswith("env: ")]
    pairs = (line.removeprefix("env: ").partition("=") for line in lines)
    return {name: value for name, _, value in pairs}


def refused(done: subprocess.CompletedProcess[str], *, header: bool = False) -> str:
    """The one line saying why (after the run's header line, when it got that far)."""
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 + header, done.stderr
    return lines[-1]


def our_containers(client: Any) -> list[Any]:
    found: list[Any] = client.containers.list(all=True, filters={"label": RUN_LABEL})
    return found


@pytest.fixture(scope="module")
def probe_image(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    context = tmp_path_factory.mktemp("probe")
    (context / "pipeline.sh").write_text(PROBE_SCRIPT)
    (context / "Dockerfile").write_text(PROBE_DOCKERFILE)
    tag = f"tingle-test/probe-pipeline:{uuid.uuid4().hex[:8]}"
    docker_client.images.build(path=str(context), tag=tag, rm=True)
    yield tag
    docker_client.images.remove(tag, force=True)


@pytest.fixture
def data_info(tmp_path: Path) -> Path:
    path = tmp_path / "probe-pipeline" / "data-info.yaml"
    path.parent.mkdir()
    path.write_text(DATA_INFO)
    return path


@pytest.fixture
def engine(docker_client: Any) -> Iterator[Any]:
    """The engine, and after the test the check that every container the command made is gone."""
    yield docker_client
    assert our_containers(docker_client) == []


def test_the_sample_pipelines_daily_report_runs_for_a_partition(
    engine: Any, tmp_path: Path
) -> None:
    tag = f"tingle-test/data-pipeline:{uuid.uuid4().hex[:8]}"
    engine.images.build(path=str(SAMPLE), tag=tag, rm=True)  # FROM tingle/agent-python
    try:
        done = tingle("-f", str(SAMPLE / "data-info.yaml"), "-w", "daily-report",
                      "-p", PARTITION, "-r", tag)  # fmt: skip
    finally:
        engine.images.remove(tag, force=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        f"report for {PARTITION}",
        "exit 0: done (Styx marks the instance successful)",
    ]
    assert "no key given: no credentials" in done.stderr  # it names a service account


def test_the_partition_replaces_braces_and_styx_variables_reach_the_container(
    engine: Any, probe_image: str, data_info: Path
) -> None:
    done = tingle("-f", str(data_info), "-w", "daily-report", "-p", PARTITION, "-r", probe_image)
    assert done.returncode == 0, done.stdout + done.stderr
    assert arguments(done.stdout) == ["--partition", PARTITION, "--date={}", "--exit", "0"]
    env = environment(done.stdout)
    execution_id = env.pop("STYX_EXECUTION_ID")
    assert re.fullmatch(r"styx-run-[0-9a-f-]{36}", execution_id)
    assert env.pop("STYX_TRIGGER_ID").startswith("tingle-run-workflow-")
    assert env == {
        "MODE": "full",
        "REGION": "eu",
        "STYX_COMPONENT_ID": "octo--probe-pipeline",  # from the image's source label
        "STYX_WORKFLOW_ID": "daily-report",
        "STYX_PARAMETER": PARTITION,  # Styx's own, never the workflow's env
        "STYX_COMMIT_SHA": SHA,  # the image's revision label
        "STYX_SERVICE_ACCOUNT": "reports@example-project.iam.gserviceaccount.com",
        "STYX_DOCKER_ARGS": f"--partition {PARTITION} --date={{}} --exit 0",
        "STYX_DOCKER_IMAGE": probe_image,
        "STYX_TERMINATION_LOG": "/dev/termination-log",
        "STYX_TRIGGER_TYPE": "adhoc",
        "STYX_ENVIRONMENT": "local",
        "STYX_LOGGING": "structured",
        "STYX_EXECUTION_TRIES": "0",
    }
    assert done.stdout.splitlines()[-1] == "exit 0: done (Styx marks the instance successful)"


def test_env_flags_override_the_workflows_env_but_not_styxs(
    engine: Any, probe_image: str, data_info: Path
) -> None:
    done = tingle("-f", str(data_info), "-w", "daily-report", "-p", PARTITION, "-r", probe_image,
                  "--env", "MODE=backfill", "--env", "STYX_WORKFLOW_ID=other",
                  "--component", "acme--reports", "--commit-sha", "abc123")  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    env = environment(done.stdout)
    assert (env["MODE"], env["REGION"]) == ("backfill", "eu")
    assert env["STYX_WORKFLOW_ID"] == "daily-report"
    assert "--env STYX_WORKFLOW_ID: Styx sets STYX_WORKFLOW_ID itself" in done.stderr
    assert (env["STYX_COMPONENT_ID"], env["STYX_COMMIT_SHA"]) == ("acme--reports", "abc123")


@pytest.mark.parametrize(
    ("workflow", "code", "meaning"),
    [
        ("waits-for-upstream", 20, "exit 20: missing dependency (Styx retries in 10 minutes)"),
        ("bad-input", 50, "exit 50: failed, no retry (Styx stops the instance)"),
        ("flaky", 3, "exit 3: failed (Styx retries with backoff while retry_condition "
         "`tries < 3` holds)"),
    ],
)  # fmt: skip
def test_the_exit_code_is_answered_with_its_styx_meaning(
    engine: Any, probe_image: str, data_info: Path, workflow: str, code: int, meaning: str
) -> None:
    done = tingle("-f", str(data_info), "-w", workflow, "-p", PARTITION, "-r", probe_image)
    assert done.returncode == code, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == meaning


def test_the_key_is_mounted_read_only_and_credentials_point_at_it(
    engine: Any, probe_image: str, data_info: Path, tmp_path: Path
) -> None:
    key = tmp_path / "key.json"
    key.write_text('{"type": "service_account", "client_email": "sa@p.iam"}')
    key.chmod(0o600)
    copies = set(Path(tempfile.gettempdir()).glob("tingle-run-workflow-*"))
    done = tingle("-f", str(data_info), "-w", "with-key", "-p", PARTITION, "-r", probe_image,
                  "--service-account-key", str(key))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    path = "/etc/styx-wf-sa-keys/styx-wf-sa.json"  # where Styx mounts it
    assert environment(done.stdout)["GOOGLE_APPLICATION_CREDENTIALS"] == path
    assert f"key: {key.read_text()}" in done.stdout.splitlines()
    assert "key: read-only" in done.stdout.splitlines()
    assert set(Path(tempfile.gettempdir()).glob("tingle-run-workflow-*")) == copies  # gone


def test_a_run_past_its_running_timeout_is_killed(
    engine: Any, probe_image: str, data_info: Path
) -> None:
    started = time.monotonic()
    done = tingle("-f", str(data_info), "-w", "slow", "-p", PARTITION, "-r", probe_image)
    assert time.monotonic() - started < 30  # it sleeps 60
    assert done.returncode == 124, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == (
        "timed out: running longer than running_timeout PT2S "
        "(Styx stops it and retries with backoff)"
    )


@pytest.mark.parametrize(
    ("signum", "name"), [(signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")]
)
def test_ctrl_c_or_sigterm_removes_the_container(
    engine: Any, probe_image: str, data_info: Path, signum: int, name: str
) -> None:
    command = [sys.executable, "-m", "tingle.cli", "run-workflow", "-f", str(data_info),
               "-w", "sleeper", "-p", PARTITION, "-r", probe_image]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    lines = []
    for line in process.stdout:  # the container is running once it prints
        lines.append(line)
        if line == "sleeping\n":
            break
    assert len(our_containers(engine)) == 1
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, "".join(lines) + out + err
    assert out.splitlines()[-1] == f"stopped by {name}: container removed"


def test_a_workflow_without_docker_args_runs_the_images_own_command(
    engine: Any, probe_image: str, data_info: Path
) -> None:
    done = tingle("-f", str(data_info), "-w", "image-default", "-p", PARTITION, "-r", probe_image)
    assert done.returncode == 0, done.stdout + done.stderr
    assert arguments(done.stdout) == []
    assert environment(done.stdout)["STYX_DOCKER_ARGS"] == ""
    assert "args (the image default)" in done.stderr


def test_an_image_without_a_command_is_refused_in_one_line(engine: Any, data_info: Path) -> None:
    line = refused(tingle("-f", str(data_info), "-w", "image-default", "-p", PARTITION,
                          "-r", "tingle/busybox:latest"), header=True)  # fmt: skip
    assert line == "tingle run-workflow: container not made: No command specified"


def test_an_unreachable_engine_is_one_line(data_info: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tingle.cli", "run-workflow", "-f", str(data_info),
         "-w", "daily-report", "-p", PARTITION, "-r", "any"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"},
    )  # fmt: skip
    assert refused(done).startswith("tingle run-workflow: Docker engine unreachable: ")


# Hostile input: each refused in one line on stderr (exit 2) before any container is made.


def test_a_workflow_id_with_shell_metacharacters_is_not_found_and_runs_nothing(
    engine: Any, probe_image: str, data_info: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    workflow = f"daily-report; touch {marker} && $(touch {marker}) `touch {marker}`"
    line = refused(tingle("-f", str(data_info), "-w", workflow, "-p", PARTITION, "-r", probe_image))
    assert line == (
        f"tingle run-workflow: no workflow {workflow!r} in {data_info}; it has: daily-report, "
        "waits-for-upstream, bad-input, flaky, with-key, slow, sleeper, image-default"
    )
    assert not marker.exists()


def test_a_partition_with_shell_metacharacters_reaches_the_container_as_written(
    engine: Any, probe_image: str, data_info: Path, tmp_path: Path
) -> None:
    partition = f"$(touch /tmp/pwned); `id`; '\"{tmp_path}"
    done = tingle("-f", str(data_info), "-w", "daily-report", "-p", partition, "-r", probe_image)
    assert done.returncode == 0, done.stdout + done.stderr
    assert arguments(done.stdout)[1] == partition
    assert environment(done.stdout)["STYX_PARAMETER"] == partition


def test_a_data_info_that_is_not_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data-info.yaml"
    path.write_text("facts:\n  workflows: [\n    - id: {x\n")
    line = refused(tingle("-f", str(path), "-w", "daily-report", "-p", PARTITION, "-r", "any"))
    assert re.fullmatch(
        rf"tingle run-workflow: {re.escape(str(path))}: line \d+: not valid YAML \(\w+\)", line
    )


def test_a_data_info_that_is_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    path = tmp_path / "data-info.yaml"
    os.mkfifo(path)
    line = refused(tingle("-f", str(path), "-w", "w", "-p", PARTITION, "-r", "any", timeout=20))
    assert line == f"tingle run-workflow: {path}: not a regular file; refused"


def test_a_data_info_with_problems_names_the_first(tmp_path: Path) -> None:
    path = tmp_path / "data-info.yaml"
    path.write_text("facts:\n  workflows:\n    - id: a\n    - schedule: daily\n")
    line = refused(tingle("-f", str(path), "-w", "a", "-p", PARTITION, "-r", "any"))
    assert line == (
        f"tingle run-workflow: {path}: facts.workflows[0].schedule: required (and 1 more problem)"
    )


def test_a_missing_data_info_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "data-info.yaml"
    line = refused(tingle("-f", str(path), "-w", "a", "-p", PARTITION, "-r", "any"))
    assert line.startswith("tingle run-workflow: ") and str(path) in line, line
    assert "no such file" in line


def test_a_missing_key_file_is_refused_before_any_container(
    engine: Any, probe_image: str, data_info: Path, tmp_path: Path
) -> None:
    key = tmp_path / "no-such-key.json"
    line = refused(tingle("-f", str(data_info), "-w", "with-key", "-p", PARTITION,
                          "-r", probe_image, "--service-account-key", str(key)))  # fmt: skip
    assert line == f"tingle run-workflow: --service-account-key {key}: no such file"


def test_a_key_that_is_a_folder_is_refused(
    engine: Any, probe_image: str, data_info: Path, tmp_path: Path
) -> None:
    line = refused(tingle("-f", str(data_info), "-w", "with-key", "-p", PARTITION,
                          "-r", probe_image, "--service-account-key", str(tmp_path)))  # fmt: skip
    assert line == (
        f"tingle run-workflow: --service-account-key {tmp_path}: not a regular file; refused"
    )


def test_an_image_not_on_the_engine_is_refused_and_not_pulled(engine: Any, data_info: Path) -> None:
    image = f"tingle-test/never-built:{uuid.uuid4().hex[:8]}"
    line = refused(tingle("-f", str(data_info), "-w", "daily-report", "-p", PARTITION, "-r", image))
    assert line == (
        f"tingle run-workflow: image '{image}' is not on the local Docker engine "
        "(run-workflow pulls nothing): build or load it first"
    )


def test_no_image_is_refused_with_why(data_info: Path) -> None:
    line = refused(tingle("-f", str(data_info), "-w", "daily-report", "-p", PARTITION))
    assert line.startswith("tingle run-workflow: -r IMAGE is needed: a data-info.yaml workflow")


@pytest.mark.parametrize("pair", ["MODE", "=x", "BAD NAME=x", "1X=y"])
def test_a_malformed_env_flag_is_refused(data_info: Path, pair: str) -> None:
    line = refused(tingle("-f", str(data_info), "-w", "daily-report", "-p", PARTITION,
                          "-r", "any", "--env", pair))  # fmt: skip
    assert line.startswith(f"tingle run-workflow: --env {pair!r}: expected NAME=VALUE")


def test_an_empty_partition_is_refused(data_info: Path) -> None:
    line = refused(tingle("-f", str(data_info), "-w", "daily-report", "-p", "", "-r", "any"))
    assert line == "tingle run-workflow: -p: the partition must be a non-empty string without NUL"


def test_the_command_loads_docker_and_the_deploy_package_only_when_it_runs() -> None:
    """Every `tingle` command (`tingle serve` too) builds the parser that registers this one."""
    probe = (
        "import argparse, sys\n"
        "from tingle.cli import run_workflow_command\n"
        "run_workflow_command.register(argparse.ArgumentParser().add_subparsers())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('docker', 'httpx', 'google')"
        " or m.startswith('tingle.deploy') or m.startswith('tingle.executor')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_a_running_timeout_styx_could_not_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data-info.yaml"  # the file's lint lets any P... through: Styx checks it
    path.write_text("facts:\n  workflows:\n    - {id: w, schedule: daily, running_timeout: P1W}\n")
    line = refused(tingle("-f", str(path), "-w", "w", "-p", PARTITION, "-r", "any"))
    assert line == (
        "tingle run-workflow: w.running_timeout: "
        "'P1W' is not an ISO-8601 duration such as PT2H or P1DT30M"
    )
