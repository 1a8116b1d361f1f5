"""Issue 13, item 4, through the web app and a real worker: a commit whose build-info.yaml (or
data-info.yaml) is a symbolic link to a file of the worker's host fails, naming the file, and
nothing of the host file reaches a log, a record, a page, an API answer or GitHub.

On the code before the change the worker followed the build-info.yaml link, parsed the host file
and published its keys as lint problems ("unknown key 'HOSTSECRET-...'") on the build's record,
page and API answer: the first test fails on that. data-info.yaml was resolved and refused as
"outside the repository" before too; the second test fails there only on the message (the link is
now named as a link, without resolving it on the host, and a FIFO or a 10 GB file no longer stops
the worker: tests/test_workspace_files.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from testing.fakes.styx import FakeStyx
from testing.gitrepo import GitRepo
from testing.payloads import push_payload, send
from tests.conftest import WEBHOOK_SECRET
from tests.e2e.test_delivery import delivery_settings, registry, sample_files
from tests.e2e.test_push_to_status import record
from tests.e2e.visible import everything_visible
from tests.fakes.fixtures import STYX_TOKEN
from tingle.settings import Settings

pytestmark = pytest.mark.usefixtures("docker_client")
__all__ = ["delivery_settings", "registry"]  # fixtures of test_delivery, used here

MARKER = "HOSTSECRET-9c1e"


@pytest.fixture
def host_file(tmp_path: Path) -> Path:
    """A file of the worker's host that no build may read: YAML, so a parser would take it."""
    path = tmp_path / "host" / "credentials.yaml"
    path.parent.mkdir()
    path.write_text(f"{MARKER}-db-password: hunter2\nfacts: {{workflows: []}}\n")
    return path


def commit_with_link(repo: GitRepo, files: dict[str, str], name: str, target: Path) -> str:
    repo.commit(files)
    link = repo.path / name
    link.unlink(missing_ok=True)
    os.symlink(target, link)
    return repo.commit({}, message="link")


def test_a_symlinked_build_info_fails_the_build_and_shows_nothing_of_the_host_file(
    web: str,
    settings: Settings,
    make_repo: Any,
    run_worker: Any,
    fake_github: Any,
    host_file: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo("acme/app")
    sha = commit_with_link(repo, {"README.md": "hi\n"}, "build-info.yaml", host_file)
    response = send(web, "push", push_payload("acme/app", sha), secret=WEBHOOK_SECRET)
    run_worker()

    build = record(settings, response.json()["build_id"])
    assert build["state"] == "failure", build  # the repository's fault, not the infrastructure's
    assert build["reason"] == "build-info.yaml: is a symbolic link; refused"
    assert build["steps"] == []
    status = fake_github.wait_for_status("acme/app", sha, "tingle", "failure", timeout=10)
    assert "build-info.yaml: is a symbolic link" in status["description"]
    seen = everything_visible(web, settings, fake_github, "acme/app", sha, [build["id"]])
    seen += "".join(capfd.readouterr())
    assert "is a symbolic link" in seen
    assert MARKER not in seen and "hunter2" not in seen


def test_a_symlinked_data_info_fails_the_deploy_and_shows_nothing_of_the_host_file(
    web: str,
    delivery_settings: Settings,
    make_repo: Any,
    run_worker: Any,
    registry: str,
    styx: FakeStyx,
    fake_github: Any,
    host_file: Path,
    docker_client: Any,
    capfd: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo("acme/pipeline")
    sha = commit_with_link(repo, sample_files(registry), "data-info.yaml", host_file)
    response = send(web, "push", push_payload("acme/pipeline", sha), secret=WEBHOOK_SECRET)
    overrides = {"styx_api_url": delivery_settings.styx_api_url, "styx_token": STYX_TOKEN}
    run_worker(**overrides, registry=registry)  # the operator's registry (issue 13, item 1)

    build = record(delivery_settings, response.json()["build_id"])
    assert build["state"] == "failure", (build["reason"], build["steps"])
    assert [(s["name"], s["state"]) for s in build["steps"]] == [
        ("test", "success"), ("build", "success"), ("push", "success"), ("deploy", "failure")
    ]  # fmt: skip
    assert "data-info.yaml: is a symbolic link; refused" in build["reason"]
    assert styx.calls() == []
    seen = everything_visible(
        web, delivery_settings, fake_github, "acme/pipeline", sha, [build["id"]]
    )
    seen += "".join(capfd.readouterr())
    assert "data-info.yaml: is a symbolic link" in seen
    assert MARKER not in seen and "hunter2" not in seen
    if build["image"]:
        docker_client.images.remove(build["image"], force=True)
