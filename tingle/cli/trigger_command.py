"""`tingle trigger [PATH]`: build a local repository's commit on a running Tingle, as a push to
GitHub would. The commit goes into the bare copy `tingle up` builds `local/<name>` from
(tingle.cli.local_repos), then a webhook signed with the webhook secret (X-Hub-Signature-256,
X-GitHub-Event, X-GitHub-Delivery) goes to the web app, whose answer names the build.

Every failure is one line on stderr and exit status 1."""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from tingle.cli import local_git, state_files
from tingle.cli.local_git import GitError
from tingle.cli.local_repos import full_name, mirror_path
from tingle.cli.local_up import DEFAULT_STATE_DIR
from tingle.cli.webhook_payloads import LocalRepository, pull_request_payload, push_payload
from tingle.forge.signature import sign

DEFAULT_URL = "http://127.0.0.1:8080"
WEBHOOK_PATH = "/webhooks/github"
TIMEOUT_SECONDS = 15.0  # GitHub itself waits 10 s


class TriggerError(Exception):
    """What stopped `tingle trigger`, in one line."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "trigger",
        help="build a local repository's commit on a running Tingle (tingle up)",
        description="Build the checked-out commit of a local git repository on a running Tingle: "
        "sends the signed webhook GitHub would send for a push or a pull request and prints the "
        "build's address.",
    )
    parser.add_argument(
        "path", nargs="?", default=".", type=Path, help="the git repository (default: here)"
    )
    parser.add_argument(
        "--event", choices=["push", "pull_request"], default="push", help="the webhook to send"
    )
    parser.add_argument("--branch", help="the branch to build (default: the checked-out one)")
    parser.add_argument(
        "--pr", type=int, default=1, help="pull request number (--event pull_request)"
    )
    parser.add_argument(
        "--url", help="the running Tingle (default: what tingle up wrote, else " + DEFAULT_URL + ")"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="tingle up's state folder, for its webhook secret and address (default: %(default)s)",
    )
    parser.set_defaults(func=_trigger)


def _trigger(args: argparse.Namespace) -> int:
    try:
        print(trigger(args))
    except (TriggerError, GitError) as exc:
        print(f"tingle trigger: {exc}", file=sys.stderr)
        return 1
    return 0


def trigger(args: argparse.Namespace) -> str:
    """Pushes the commit to the copy, sends its webhook; the line to print."""
    state_dir: Path = args.state_dir.resolve()
    base = (args.url or state_files.read_web_url(state_dir) or DEFAULT_URL).rstrip("/")
    base = base.removesuffix(WEBHOOK_PATH)
    secret = webhook_secret(state_dir)
    event, payload = local_event(args, state_dir)
    return send(base, event, json.dumps(payload).encode(), secret)


def webhook_secret(state_dir: Path) -> str:
    secret = os.environ.get("TINGLE_WEBHOOK_SECRET", "")
    if secret:
        return secret
    path = state_dir / state_files.WEBHOOK_SECRET
    try:
        secret = path.read_text().strip()
    except OSError:
        secret = ""
    if not secret:
        raise TriggerError(
            f"no webhook secret in {path} nor TINGLE_WEBHOOK_SECRET: start Tingle with"
            " `tingle up` (or pass its --state-dir)"
        )
    return secret


def local_event(args: argparse.Namespace, state_dir: Path) -> tuple[str, dict[str, Any]]:
    repo = local_git.top_level(args.path)
    branch = args.branch or local_git.current_branch(repo)
    sha = local_git.branch_tip(repo, branch)
    if sha is None:
        raise TriggerError(f"{repo} has no branch {branch!r} (or no commit on it yet)")
    if not args.branch and local_git.has_uncommitted_changes(repo):
        print("tingle trigger: uncommitted changes are not built, only commits", file=sys.stderr)
    name = full_name(repo.name)
    copy = mirror_path(state_dir, name.split("/", 1)[1])
    default = local_git.default_branch(repo, branch)
    local = LocalRepository(full_name=name, clone_url=copy.as_uri(), default_branch=default)
    head = local_git.commit(repo, sha)
    if args.event == "pull_request":
        base_sha = local_git.branch_tip(repo, default)
        if branch == default or base_sha is None:
            raise TriggerError(f"a pull request needs a branch other than {default!r}: --branch")
        local_git.push_to_copy(repo, base_sha, default, copy)
        local_git.push_to_copy(repo, sha, branch, copy)
        return "pull_request", pull_request_payload(
            local, branch, head, number=args.pr, base_sha=base_sha
        )
    before = local_git.push_to_copy(repo, sha, branch, copy)
    return "push", push_payload(local, branch, head, before)


def send(base: str, event: str, body: bytes, secret: str) -> str:
    """POSTs the webhook as GitHub does; the line saying what became of it."""
    url = base + WEBHOOK_PATH
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "tingle-trigger",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(secret.encode(), body),
    }
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise TriggerError(
            f"no Tingle answers at {base} ({type(exc).__name__}): start it with `tingle up`,"
            " or pass --url"
        ) from None
    answer = _json(response)
    if response.status_code == 401:
        raise TriggerError(
            f"Tingle at {base} refused the signature (401): its webhook secret is not the one"
            " read here (TINGLE_WEBHOOK_SECRET, or the state directory's webhook-secret)"
        )
    if response.status_code == 202 and isinstance(answer.get("url"), str):
        if answer.get("result") == "duplicate":
            return f"already built: {answer['url']}"
        return f"build queued: {answer['url']}"
    reason = answer.get("reason") or answer.get("error") or response.text[:200]
    raise TriggerError(f"Tingle at {base} answered {response.status_code}: {reason}")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
