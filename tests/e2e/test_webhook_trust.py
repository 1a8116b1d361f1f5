"""Issue 13, item 2: one webhook secret must not unlock every repository.

A signed push may claim any repository; the code a build runs must be that repository's own, never
what a payload's `clone_url` points at, and a repository with a webhook secret of its own accepts
no delivery signed with the global one.

On the code before the change each test fails: the worker cloned `repository.clone_url` from the
payload, so the attacker's commit ran with acme/app's secrets (the base64 of the secret was in its
log, and acme/app's own commit was "not found" in the attacker's repository); and every delivery
was checked with the one global secret, so the delivery for acme/app signed with it was accepted
(202, not 401).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from testing.payloads import push_payload, send
from tests.conftest import TEST_IMAGE, WEBHOOK_SECRET
from tests.e2e.test_push_to_status import log_of, record
from tests.e2e.visible import everything_visible
from tingle.settings import Settings

pytestmark = pytest.mark.usefixtures("docker_client")

ACME_SECRET = "acme-app-deploy-token-5b1f0e77c2"
ACME_WEBHOOK_SECRET = "acme-app-own-webhook-secret"
ACME_STEPS = f"""version: 2
steps:
  - name: run
    image: {TEST_IMAGE}
    commands:
      - echo "acme/app's own code"
"""
ATTACKER_STEPS = f"""version: 2
secrets:
  names: [deploy-token]
steps:
  - name: run
    image: {TEST_IMAGE}
    secrets: [deploy-token]
    commands:
      - echo "the attacker's code"
      - echo "$TINGLE_SECRET_DEPLOY_TOKEN" | base64
"""


@pytest.fixture
def acme_secret(settings: Settings) -> str:
    folder = Path(settings.secrets_url) / "acme" / "app"
    folder.mkdir(parents=True)
    (folder / "deploy-token").write_text(ACME_SECRET)
    return ACME_SECRET


def test_a_push_claiming_acme_app_builds_acme_apps_code_never_the_payloads_clone_url(
    web: str,
    settings: Settings,
    make_repo: Any,
    run_worker: Any,
    fake_github: Any,
    acme_secret: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    acme_sha = make_repo("acme/app").commit({"build-info.yaml": ACME_STEPS})
    evil_sha = make_repo("mallory/evil").commit({"build-info.yaml": ATTACKER_STEPS})
    # Signed with the one secret every repository's webhook shares: the attacker runs their own.
    stolen = push_payload("acme/app", evil_sha)
    stolen["repository"]["clone_url"] = "https://github.com/mallory/evil.git"
    attack = send(web, "push", stolen, secret=WEBHOOK_SECRET)
    own = push_payload("acme/app", acme_sha, branch="feature")
    own["repository"]["clone_url"] = "https://github.com/mallory/evil.git"
    legit = send(web, "push", own, secret=WEBHOOK_SECRET)
    assert attack.status_code == legit.status_code == 202, (attack.text, legit.text)
    run_worker()

    attacked = record(settings, attack.json()["build_id"])
    assert attacked["state"] == "error", attacked
    assert f"commit {evil_sha[:12]} not found in" in attacked["reason"]
    assert attacked["steps"] == []  # nothing of the attacker's ran
    built = record(settings, legit.json()["build_id"])
    assert built["state"] == "success", built["reason"]
    assert built["clone_url"] == "https://github.com/acme/app.git"
    assert "acme/app's own code" in log_of(settings, built["id"], 0)

    ids = [attacked["id"], built["id"]]
    seen = everything_visible(web, settings, fake_github, "acme/app", evil_sha, ids)
    seen += everything_visible(web, settings, fake_github, "acme/app", acme_sha, ids)
    seen += "".join(capfd.readouterr())  # the web app's and the worker's own logs
    encoded = base64.b64encode(f"{acme_secret}\n".encode()).decode()
    assert "the attacker's code" not in seen
    assert acme_secret not in seen
    assert encoded not in seen


@pytest.fixture
def per_repo_settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, webhook_secrets=(("acme/app", ACME_WEBHOOK_SECRET), ("beta", "beta-org-secret"))
    )


@pytest.fixture
def per_repo_web(per_repo_settings: Settings) -> Any:
    from testing.servers import serve_app
    from tingle.web.app import create_app

    with serve_app(create_app(per_repo_settings)) as url:
        yield url


def test_a_repository_with_its_own_secret_refuses_the_global_one(
    per_repo_web: str, per_repo_settings: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    sha = "c0ffee" + "0" * 34
    forged = send(per_repo_web, "push", push_payload("acme/app", sha), secret=WEBHOOK_SECRET)
    assert forged.status_code == 401, forged.text
    assert forged.json() == {"error": "missing or invalid X-Hub-Signature-256 for acme/app"}
    # GitHub's names are case-insensitive: another spelling of acme/app is acme/app.
    shouted = send(per_repo_web, "push", push_payload("ACME/App", sha), secret=WEBHOOK_SECRET)
    assert shouted.status_code == 401, shouted.text
    # An owner's secret covers its repositories; the global one does not.
    beta = send(per_repo_web, "push", push_payload("beta/tool", sha), secret=WEBHOOK_SECRET)
    assert beta.status_code == 401, beta.text
    assert send(per_repo_web, "ping", {"zen": "hi"}, secret=ACME_WEBHOOK_SECRET).status_code == 401
    # The same, form-encoded (the JSON in a `payload` field) instead of JSON.
    form = urllib.parse.urlencode({"payload": json.dumps(push_payload("acme/app", sha))}).encode()
    as_form = "application/x-www-form-urlencoded"
    posted = send(per_repo_web, "push", form, secret=WEBHOOK_SECRET, content_type=as_form)
    assert posted.status_code == 401, posted.text
    posted = send(per_repo_web, "push", form, secret=ACME_WEBHOOK_SECRET, content_type=as_form)
    assert posted.status_code == 202, posted.text

    own = send(per_repo_web, "push", push_payload("acme/app", sha), secret=ACME_WEBHOOK_SECRET)
    assert own.status_code == 202, own.text
    owner = send(per_repo_web, "push", push_payload("beta/tool", sha), secret="beta-org-secret")
    assert owner.status_code == 202, owner.text
    # A repository without a secret of its own keeps the global one, and not acme/app's.
    other = send(per_repo_web, "push", push_payload("octo/app", sha), secret=WEBHOOK_SECRET)
    assert other.status_code == 202, other.text
    cross = send(per_repo_web, "push", push_payload("octo/app", sha), secret=ACME_WEBHOOK_SECRET)
    assert cross.status_code == 401, cross.text

    logs = "".join(capfd.readouterr())
    assert "repository acme/app" in logs  # which entry checked it, in the log
    assert ACME_WEBHOOK_SECRET not in logs and "beta-org-secret" not in logs


def test_the_secrets_file_is_read_once_and_its_errors_name_no_secret(tmp_path: Path) -> None:
    path = tmp_path / "webhook-secrets.json"
    path.write_text('{"Acme/App": "s1", "beta": "s2"}')
    loaded = Settings.from_env({"TINGLE_WEBHOOK_SECRETS_FILE": str(path)})
    assert loaded.webhook_secrets == (("acme/app", "s1"), ("beta", "s2"))
    assert "s1" not in repr(loaded)
    path.write_text('{"acme/app": "", "--upload-pack=x/y": "hunter2"}')
    with pytest.raises(ValueError, match="'acme/app' must be a non-empty string") as raised:
        Settings.from_env({"TINGLE_WEBHOOK_SECRETS_FILE": str(path)})
    path.write_text('{"--upload-pack=x/y": "hunter2"}')
    with pytest.raises(ValueError, match="is not 'owner/name' or 'owner'") as raised:
        Settings.from_env({"TINGLE_WEBHOOK_SECRETS_FILE": str(path)})
    assert "hunter2" not in str(raised.value)
