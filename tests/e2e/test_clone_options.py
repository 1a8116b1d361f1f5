"""Issue 13, item 3, through the web app and a real worker: a signed payload whose clone URL or
repository name is `--upload-pack=touch X` runs nothing on the worker's host.

On the code before the change the payload's clone_url went to `git fetch` as is, where git took
it for its `--upload-pack` option and ran `touch X` (the build then ended in `error`): X existed
after the build. The repository name `--upload-pack=...` was accepted (202) as well.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
import redis

from testing.payloads import push_payload, send
from tests.conftest import TEST_IMAGE, WEBHOOK_SECRET
from tests.e2e.test_push_to_status import log_of, record
from tingle.settings import Settings

pytestmark = pytest.mark.usefixtures("docker_client")

STEPS = f"""version: 2
steps:
  - name: run
    image: {TEST_IMAGE}
    commands:
      - echo "acme/app's own code"
"""


def test_an_option_as_clone_url_or_repository_name_runs_nothing_on_the_worker(
    web: str, settings: Settings, make_repo: Any, run_worker: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "X"
    option = f"--upload-pack=touch {marker}"
    sha = make_repo("acme/app").commit({"build-info.yaml": STEPS})
    payload = push_payload("acme/app", sha)
    payload["repository"]["clone_url"] = option
    by_url = send(web, "push", payload, secret=WEBHOOK_SECRET)
    named = push_payload("acme/app", sha, branch="named")
    named["repository"]["full_name"] = option
    by_name = send(web, "push", named, secret=WEBHOOK_SECRET)
    # A record written with the option in it (as a webhook could before this change) is
    # refused by the worker's checkout itself.
    forged = send(
        web, "push", push_payload("acme/app", sha, branch="forged"), secret=WEBHOOK_SECRET
    )
    forged_id = forged.json()["build_id"]
    client = redis.Redis.from_url(settings.redis_url)
    key = f"tingle:build:{forged_id}"
    stored = json.loads(cast(bytes, client.get(key)))
    client.set(key, json.dumps({**stored, "clone_url": option}))
    client.close()
    run_worker()

    assert not marker.exists()  # git never took the URL for an option
    assert by_name.status_code == 400, by_name.text
    assert "'repository.full_name' is not 'owner/name'" in by_name.json()["error"]
    built = record(settings, by_url.json()["build_id"])
    assert built["state"] == "success", built["reason"]  # acme/app's code, from acme/app
    assert "acme/app's own code" in log_of(settings, built["id"], 0)
    refused = record(settings, forged_id)
    assert refused["state"] == "error"
    assert refused["reason"].startswith("checkout failed: refused to fetch from '--upload-pack=")
