"""Who may deploy what (issue 13, item 7), performed for real: signed webhooks over HTTP, burst
workers, the Docker engine, a real registry and the Styx fake.

Before the fix a commit chose its own deploy branches (`deploy.branches: ['**']` in the pushed
build-info.yaml made `wip/x` deploy), and the Styx component was the repository's name alone, so
`other/reports` deployed into `acme/reports`'s component and updated its workflows: both tests
fail there (a deploy step on `wip/x`; one `reports` component, acme's workflow replaced).
"""

from __future__ import annotations

from typing import Any

import pytest

from testing.fakes.styx import FakeStyx
from testing.payloads import push_payload, send
from tests.conftest import WEBHOOK_SECRET
from tests.e2e.test_delivery import delivery_settings, registry, sample_files
from tests.e2e.test_push_to_status import record
from tests.fakes.fixtures import STYX_TOKEN
from tingle.settings import Settings

pytestmark = pytest.mark.usefixtures("docker_client")
__all__ = ["delivery_settings", "registry"]  # fixtures shared with test_delivery.py


def test_a_commit_on_wip_listing_every_branch_deploys_nothing(
    web: str,
    delivery_settings: Settings,
    make_repo: Any,
    run_worker: Any,
    registry: str,
    styx: FakeStyx,
) -> None:
    repo = make_repo("acme/reports")
    repo.commit({"README.md": "main\n"})
    repo.git("checkout", "--quiet", "-b", "wip/x")
    files = sample_files(registry)
    files["build-info.yaml"] += "deploy:\n  branches: ['**']\n"
    sha = repo.commit(files)
    response = send(
        web, "push", push_payload("acme/reports", sha, branch="wip/x"), secret=WEBHOOK_SECRET
    )
    run_worker(
        styx_api_url=delivery_settings.styx_api_url, styx_token=STYX_TOKEN, registry=registry
    )

    build = record(delivery_settings, response.json()["build_id"])
    assert build["state"] == "success", (build["reason"], build["steps"])
    assert [s["name"] for s in build["steps"]] == ["test", "build", "push"]  # no deploy
    assert styx.calls() == []


def test_another_repository_cannot_update_or_delete_acme_s_workflows(
    web: str,
    delivery_settings: Settings,
    make_repo: Any,
    run_worker: Any,
    registry: str,
    styx: FakeStyx,
) -> None:
    # A workflow in acme's component that says it came from other/reports (forged, or left by
    # the old naming): acme's deploy must not take it over either.
    forged = {
        "id": "daily-report",
        "schedule": "daily",
        "docker_image": "example.com/other@sha256:" + "0" * 64,
        "deployment_source": {"repository": "other/reports", "source": "tingle"},
    }
    styx.add_workflow("acme--reports", forged)
    before = styx.workflow("acme--reports", "daily-report")
    files = sample_files(registry)
    for name in ("acme/reports", "other/reports"):
        sha = make_repo(name).commit(files)
        send(web, "push", push_payload(name, sha), secret=WEBHOOK_SECRET)
    run_worker(
        styx_api_url=delivery_settings.styx_api_url, styx_token=STYX_TOKEN, registry=registry
    )

    other, acme = (record(delivery_settings, build_id) for build_id in ("2", "1"))
    assert other["repo"] == "other/reports" and other["state"] == "success", other["reason"]
    assert sorted(styx.workflow_ids("other--reports")) == ["daily-report", "hourly-sync"]
    assert styx.workflow_ids("reports") == []  # no shared component any more

    assert acme["state"] == "failure"
    assert acme["reason"].endswith(
        "workflow daily-report in component acme--reports was deployed from other/reports, "
        "not acme/reports: not updating it (it belongs to other/reports)"
    )
    assert styx.workflow_ids("acme--reports") == ["daily-report"]  # nothing created, deleted
    assert styx.workflow("acme--reports", "daily-report") == before  # nor updated
