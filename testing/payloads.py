"""Real GitHub payloads (from @octokit/webhooks-examples), pointed at test repositories."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from tingle.forge.signature import sign

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "octokit"
GITHUB = "https://github.com/"


def octokit(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def _point_repo(repository: dict[str, Any], full_name: str) -> None:
    owner, name = full_name.split("/")
    repository.update(
        full_name=full_name,
        name=name,
        clone_url=f"{GITHUB}{full_name}.git",
        html_url=f"{GITHUB}{full_name}",
        default_branch="main",
        master_branch="main",
    )
    repository["owner"]["login"] = owner


def push_payload(full_name: str, sha: str, branch: str = "main") -> dict[str, Any]:
    payload = copy.deepcopy(octokit("push"))
    _point_repo(payload["repository"], full_name)
    payload.update(ref=f"refs/heads/{branch}", after=sha)
    payload["head_commit"]["id"] = sha
    return payload


def pull_request_payload(
    full_name: str, sha: str, number: int = 7, action: str = "opened", head: str | None = None
) -> dict[str, Any]:
    payload = copy.deepcopy(octokit(f"pull_request_{action}"))
    payload.update(action=action, number=number)
    pull = payload["pull_request"]
    pull["number"] = number
    pull["head"]["sha"] = sha
    pull["head"]["ref"] = "feature"
    _point_repo(pull["base"]["repo"], full_name)
    _point_repo(pull["head"]["repo"], head or full_name)
    _point_repo(payload["repository"], full_name)
    return payload


def send(
    base_url: str,
    event: str,
    payload: dict[str, Any] | bytes,
    *,
    secret: str,
    delivery: str | None = None,
    signature: str | None = None,
    content_type: str = "application/json",
) -> httpx.Response:
    """POST a webhook the way GitHub does: signed body, event and delivery headers."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature if signature is not None else sign(secret.encode(), body),
        "Content-Type": content_type,
        "User-Agent": "GitHub-Hookshot/test",
    }
    return httpx.post(f"{base_url}/webhooks/github", content=body, headers=headers, timeout=10)
