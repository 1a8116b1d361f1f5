"""Delivery end to end: a push to the default branch of the sample data pipeline goes test →
build → push (a real registry) → deploy (the Styx fake); a pull request stops before push and
deploy; secrets reach the steps that ask, masked, and never a fork."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testing.fakes.styx import FakeStyx
from testing.payloads import pull_request_payload, push_payload, send
from testing.registry import Registry
from tests.conftest import TEST_IMAGE, WEBHOOK_SECRET
from tests.e2e.test_push_to_status import log_of, record
from tests.fakes.fixtures import STYX_TOKEN
from tingle.settings import Settings

pytestmark = pytest.mark.usefixtures("docker_client")

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "data-pipeline"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = Registry(tmp_path_factory.mktemp("registry"))
    yield server.host
    server.stop()


@pytest.fixture
def delivery_settings(settings: Settings, styx: FakeStyx) -> Settings:
    return dataclasses.replace(settings, styx_api_url=styx.base_url, styx_token=STYX_TOKEN)


def sample_files(registry: str) -> dict[str, str]:
    files = {
        str(path.relative_to(SAMPLE)): path.read_text()
        for path in SAMPLE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    files["build-info.yaml"] = files["build-info.yaml"].replace("localhost:5000", registry)
    return files


def test_push_to_default_branch_tests_builds_pushes_and_deploys(
    web: str,
    delivery_settings: Settings,
    make_repo: Any,
    run_worker: Any,
    registry: str,
    styx: FakeStyx,
    fake_github: Any,
    docker_client: Any,
) -> None:
    sha = make_repo("octo/data-pipeline").commit(sample_files(registry))
    response = send(web, "push", push_payload("octo/data-pipeline", sha), secret=WEBHOOK_SECRET)
    run_worker(
        styx_api_url=delivery_settings.styx_api_url, styx_token=STYX_TOKEN, registry=registry
    )

    build = record(delivery_settings, response.json()["build_id"])
    assert build["state"] == "success", (build["reason"], build["steps"])
    assert [(s["name"], s["state"]) for s in build["steps"]] == [
        ("test", "success"), ("build", "success"), ("push", "success"), ("deploy", "success")
    ]  # fmt: skip
    image = build["image"]
    # <TINGLE_REGISTRY>/<owner>/<repo>: the operator's registry, the repository's owner too
    assert image.startswith(f"{registry}/octo/data-pipeline@sha256:")
    assert "1 passed" in log_of(delivery_settings, build["id"], 0)

    assert sorted(styx.workflow_ids("octo--data-pipeline")) == ["daily-report", "hourly-sync"]
    daily = styx.workflow("octo--data-pipeline", "daily-report")
    assert daily is not None
    assert daily["docker_image"] == image
    assert daily["commit_sha"] == sha
    assert daily["deployment_source"]["repository"] == "octo/data-pipeline"
    assert styx.enabled("octo--data-pipeline", "daily-report")
    deploy_log = log_of(delivery_settings, build["id"], 3)
    assert "daily-report" in deploy_log

    docker_client.images.remove(image, force=True)  # pull it back from the registry by digest
    pulled = docker_client.images.pull(image)
    assert pulled.labels["org.opencontainers.image.revision"] == sha
    status = fake_github.wait_for_status("octo/data-pipeline", sha, "tingle", "success")
    assert status["state"] == "success"


def test_the_same_commit_as_a_pull_request_runs_no_push_and_no_deploy(
    web: str,
    delivery_settings: Settings,
    make_repo: Any,
    run_worker: Any,
    registry: str,
    styx: FakeStyx,
) -> None:
    sha = make_repo("octo/data-pipeline").commit(sample_files(registry))
    payload = pull_request_payload("octo/data-pipeline", sha, number=4)
    response = send(web, "pull_request", payload, secret=WEBHOOK_SECRET)
    run_worker(styx_api_url=delivery_settings.styx_api_url, styx_token=STYX_TOKEN)

    build = record(delivery_settings, response.json()["build_id"])
    assert build["state"] == "success", build["reason"]
    assert [s["name"] for s in build["steps"]] == ["test", "build"]
    assert build["image"] is None
    assert styx.calls() == []


SECRET_STEPS = f"""version: 2
secrets:
  names: [api-token, signing-key]
steps:
  - name: leak
    image: {TEST_IMAGE}
    secrets: [api-token, signing-key]
    commands:
      - echo "token is $TINGLE_SECRET_API_TOKEN"
      - cat /secrets/signing-key
      - ls /secrets
"""
SIGNING_KEY = "-----BEGIN KEY-----\nAAAAB3NzaC1yc2EAAAADAQABAAABAQ\n-----END KEY-----\n"


def test_secrets_reach_the_step_masked_and_never_a_fork(
    web: str, settings: Settings, make_repo: Any, run_worker: Any, tmp_path: Path
) -> None:
    secrets = Path(settings.secrets_url) / "octo" / "app"
    secrets.mkdir(parents=True)
    (secrets / "api-token").write_text("s3cr3t-t0ken-value")
    (secrets / "signing-key").write_text(SIGNING_KEY)
    sha = make_repo("octo/app").commit({"build-info.yaml": SECRET_STEPS})
    fork_sha = make_repo("stranger/app").commit({"build-info.yaml": SECRET_STEPS})
    own = send(web, "push", push_payload("octo/app", sha), secret=WEBHOOK_SECRET)
    fork = send(
        web,
        "pull_request",
        pull_request_payload("octo/app", fork_sha, number=3, head="stranger/app"),
        secret=WEBHOOK_SECRET,
    )
    run_worker()

    own_build = record(settings, own.json()["build_id"])
    assert own_build["state"] == "success", own_build["reason"]
    lines = log_of(settings, own_build["id"], 0).splitlines()
    assert "token is ***" in lines
    assert lines.count("***") >= 1  # the multi-line key, line by line
    assert "s3cr3t-t0ken-value" not in "\n".join(lines)
    assert "AAAAB3NzaC1yc2EAAAADAQABAAABAQ" not in "\n".join(lines)
    assert "api-token" in lines and "signing-key" in lines  # the files were there

    fork_build = record(settings, fork.json()["build_id"])
    assert fork_build["state"] == "failure"  # cat /secrets/signing-key: no such file
    fork_lines = log_of(settings, fork_build["id"], 0).splitlines()
    assert "token is " in fork_lines  # the variable is empty: no secret reached the fork
    assert not (settings.secrets_work_dir / fork_build["id"]).exists()
    shutil.rmtree(secrets)
