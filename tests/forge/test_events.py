"""parse_event on real payloads from @octokit/webhooks-examples, plus hand-made edge cases."""

from __future__ import annotations

import copy
import json
import urllib.parse
from typing import Any

import pytest

from testing.payloads import FIXTURES as OCTOKIT
from tingle.forge.events import (
    BuildTrigger,
    Ignored,
    LaneClosed,
    MalformedPayload,
    decode_payload,
    parse_event,
)
from tingle.plan import EventKind

HEAD_SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


def load(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((OCTOKIT / name).read_text())
    return payload


def trigger(event: str, payload: dict[str, Any]) -> BuildTrigger:
    result = parse_event(event, payload)
    assert isinstance(result, BuildTrigger), result
    return result


# --- real payloads ------------------------------------------------------------------------------


def test_push_to_a_new_branch_builds_the_pushed_commit() -> None:
    assert trigger("push", load("push.json")) == BuildTrigger(
        repo="Codertocat/Hello-World",
        clone_url="https://github.com/Codertocat/Hello-World.git",
        sha="6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        ref="refs/heads/master",
        branch="master",
        event=EventKind.PUSH,
        pr_number=None,
        head_repo="Codertocat/Hello-World",
        is_fork=False,
        default_branch="master",
        installation_id=1,
        author="Codertocat",
        commit_message="Initial commit",
        commit_url=(
            "https://github.com/Codertocat/Hello-World/commit/"
            "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
        ),
        pr_url=None,
        compare_url=(
            "https://github.com/Codertocat/Hello-World/commit/"
            "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
        ),
        action=None,
    )


def test_tag_push_is_ignored() -> None:
    assert parse_event("push", load("push_tag.json")) == Ignored("tag push: not built")


def test_tag_deletion_is_ignored_as_a_tag_push() -> None:
    assert parse_event("push", load("push_tag_deleted.json")) == Ignored("tag push: not built")


def test_branch_deletion_closes_the_branchs_lane() -> None:
    # The package has no branch deletion: turn its tag deletion into one.
    payload = load("push_tag_deleted.json")
    payload["ref"] = "refs/heads/feature"
    repo = payload["repository"]["full_name"]
    assert parse_event("push", payload) == LaneClosed(repo, "branch deleted", branch="feature")


def test_push_with_null_after_is_a_deletion_even_without_the_deleted_flag() -> None:
    payload = load("push.json")
    payload.pop("deleted")
    payload["after"] = "0" * 40
    payload["head_commit"] = None
    branch = payload["ref"].removeprefix("refs/heads/")
    repo = payload["repository"]["full_name"]
    assert parse_event("push", payload) == LaneClosed(repo, "branch deleted", branch=branch)


def test_pull_request_opened_builds_the_head_commit() -> None:
    assert trigger("pull_request", load("pull_request_opened.json")) == BuildTrigger(
        repo="Codertocat/Hello-World",
        clone_url="https://github.com/Codertocat/Hello-World.git",
        sha=HEAD_SHA,
        ref="refs/heads/changes",
        branch="changes",
        event=EventKind.PULL_REQUEST,
        pr_number=2,
        head_repo="Codertocat/Hello-World",
        is_fork=False,
        default_branch="master",
        installation_id=None,
        author="Codertocat",
        commit_message="",
        commit_url=f"https://github.com/Codertocat/Hello-World/commit/{HEAD_SHA}",
        pr_url="https://github.com/Codertocat/Hello-World/pull/2",
        compare_url=None,
        action="opened",
        base_branch="master",
        pr_title="Update the README with new information.",
    )


@pytest.mark.parametrize(
    ("name", "action"),
    [("pull_request_synchronize.json", "synchronize"), ("pull_request_reopened.json", "reopened")],
)
def test_pull_request_synchronize_and_reopened_build(name: str, action: str) -> None:
    built = trigger("pull_request", load(name))
    assert (built.action, built.sha, built.pr_number, built.branch) == (
        action,
        HEAD_SHA,
        2,
        "changes",
    )


def test_synchronize_carries_the_app_installation() -> None:
    assert trigger("pull_request", load("pull_request_synchronize.json")).installation_id == 1


def test_pull_request_closed_closes_its_lane() -> None:
    payload = load("pull_request_closed.json")
    assert parse_event("pull_request", payload) == LaneClosed(
        payload["repository"]["full_name"], "pull request closed", pr_number=payload["number"]
    )


def test_pull_request_from_a_fork_clones_the_fork() -> None:
    # The package has no fork pull request: make the head repository a fork of the base.
    payload = load("pull_request_opened.json")
    fork = payload["pull_request"]["head"]["repo"]
    fork["full_name"] = "forker/Hello-World"
    fork["clone_url"] = "https://evil.example/elsewhere.git"  # never read
    fork["html_url"] = "https://github.com/forker/Hello-World"
    built = trigger("pull_request", payload)
    assert built.is_fork
    assert built.repo == "Codertocat/Hello-World"  # statuses go to the base repository
    assert built.head_repo == "forker/Hello-World"
    assert built.clone_url == "https://github.com/forker/Hello-World.git"
    assert built.commit_url == f"https://github.com/forker/Hello-World/commit/{HEAD_SHA}"


def test_the_clone_url_is_derived_from_the_configured_github_never_the_payload() -> None:
    payload = load("push.json")
    payload["repository"]["clone_url"] = "--upload-pack=touch /tmp/pwned"
    result = parse_event("push", payload, github_url="https://ghe.example.com/")
    assert isinstance(result, BuildTrigger)
    assert result.clone_url == "https://ghe.example.com/Codertocat/Hello-World.git"
    del payload["repository"]["clone_url"]  # not needed at all
    assert trigger("push", payload).clone_url == "https://github.com/Codertocat/Hello-World.git"


def test_pull_request_whose_fork_was_deleted_is_ignored() -> None:
    payload = load("pull_request_synchronize.json")
    payload["pull_request"]["head"]["repo"] = None
    result = parse_event("pull_request", payload)
    assert isinstance(result, Ignored)
    assert "deleted fork" in result.reason


def test_ping_is_ignored() -> None:
    assert parse_event("ping", load("ping.json")) == Ignored("ping")


def test_ping_without_a_repository_is_ignored_too() -> None:
    # App-level pings carry a hook but no repository.
    assert parse_event("ping", {"zen": "Design for failure.", "hook_id": 1}) == Ignored("ping")


def test_other_events_are_ignored_with_their_name() -> None:
    assert parse_event("issues", {"action": "opened"}) == Ignored("event 'issues' is not built")


# --- hand-made edge cases -----------------------------------------------------------------------


def test_push_to_a_non_branch_ref_is_ignored() -> None:
    payload = load("push.json")
    payload["ref"] = "refs/notes/commits"
    assert parse_event("push", payload) == Ignored("ref 'refs/notes/commits' is not a branch")


def test_commit_message_keeps_the_first_line_only() -> None:
    payload = load("push.json")
    payload["head_commit"]["message"] = "Fix the build\n\nLong explanation.\n"
    assert trigger("push", payload).commit_message == "Fix the build"


def test_push_without_head_commit_falls_back_to_pusher_and_repository_url() -> None:
    payload = load("push.json")
    payload["head_commit"] = None
    built = trigger("push", payload)
    assert built.author == "Codertocat"  # pusher.name
    assert built.commit_message == ""
    assert built.commit_url == (
        "https://github.com/Codertocat/Hello-World/commit/6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    )


@pytest.mark.parametrize(
    ("event", "name", "path", "value", "message"),
    [
        ("push", "push.json", ["ref"], None, "missing field 'ref'"),
        ("push", "push.json", ["after"], 42, "field 'after' must be str, not int"),
        ("push", "push.json", ["after"], "main", "field 'after' is not a commit sha"),
        ("push", "push.json", ["repository"], "x", "field 'repository' must be object, not str"),
        ("push", "push.json", ["repository", "full_name"], None, "'repository.full_name'"),
        (
            "push",
            "push.json",
            ["repository", "full_name"],
            "--upload-pack=touch /tmp/x",
            "'repository.full_name' is not 'owner/name'",
        ),
        ("push", "push.json", ["repository", "full_name"], "acme/app/../x", "not 'owner/name'"),
        ("push", "push.json", ["repository", "full_name"], "acme/..", "not 'owner/name'"),
        ("push", "push.json", ["repository", "full_name"], "-acme/app", "not 'owner/name'"),
        (
            "pull_request",
            "pull_request_opened.json",
            ["pull_request", "head", "repo", "full_name"],
            "x/y z",
            "'pull_request.head.repo.full_name' is not 'owner/name'",
        ),
        (
            "pull_request",
            "pull_request_opened.json",
            ["repository", "full_name"],
            "other/app",
            "'repository.full_name' \\(other/app\\) is not the base repository",
        ),
        ("push", "push.json", ["deleted"], "no", "field 'deleted' must be bool, not str"),
        ("push", "push.json", ["head_commit", "message"], 1, "'head_commit.message' must be str"),
        ("pull_request", "pull_request_opened.json", ["action"], None, "missing field 'action'"),
        ("pull_request", "pull_request_opened.json", ["number"], "2", "'number' must be int"),
        ("pull_request", "pull_request_opened.json", ["number"], True, "'number' must be int"),
        (
            "pull_request",
            "pull_request_opened.json",
            ["pull_request", "head", "sha"],
            ["abc"],
            "'pull_request.head.sha' must be str, not list",
        ),
        (
            "pull_request",
            "pull_request_opened.json",
            ["pull_request", "base", "repo"],
            None,
            "missing field 'pull_request.base.repo'",
        ),
        (
            "pull_request",
            "pull_request_opened.json",
            ["installation"],
            {"id": "1"},
            "'installation.id' must be int",
        ),
    ],
)
def test_missing_or_mistyped_fields_are_malformed(
    event: str, name: str, path: list[str], value: object, message: str
) -> None:
    payload = load(name)
    target = payload
    for key in path[:-1]:
        target = target[key]
    if value is None:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    with pytest.raises(MalformedPayload, match=message):
        parse_event(event, payload)


def test_a_payload_that_is_not_built_is_not_checked_further() -> None:
    # An ignored action needs none of the build fields, so their absence is no error.
    assert parse_event("pull_request", {"action": "labeled"}) == Ignored(
        "pull_request action 'labeled' is not built"
    )


def test_parse_does_not_modify_the_payload() -> None:
    payload = load("pull_request_opened.json")
    before = copy.deepcopy(payload)
    parse_event("pull_request", payload)
    assert payload == before


# --- decode_payload -----------------------------------------------------------------------------


def test_decode_json_body() -> None:
    body = (OCTOKIT / "push.json").read_bytes()
    assert decode_payload("application/json", body) == load("push.json")


def test_decode_json_with_charset_parameter_and_missing_content_type() -> None:
    assert decode_payload("application/json; charset=utf-8", b'{"a": 1}') == {"a": 1}
    assert decode_payload(None, b'{"a": 1}') == {"a": 1}


def test_decode_form_encoded_body_reads_the_payload_field() -> None:
    payload = load("pull_request_opened.json")
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    decoded = decode_payload("application/x-www-form-urlencoded", body)
    assert decoded == payload
    assert isinstance(parse_event("pull_request", decoded), BuildTrigger)


def test_decode_form_keeps_plus_and_non_ascii_through_percent_encoding() -> None:
    body = urllib.parse.urlencode({"payload": json.dumps({"m": "a+b é ✓"})}).encode()
    assert decode_payload("application/x-www-form-urlencoded", body) == {"m": "a+b é ✓"}


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("application/json", b"{not json", "not valid JSON"),
        ("application/json", b"", "not valid JSON"),
        ("application/json", b"[1, 2]", "must be a JSON object, not list"),
        ("application/json", b'"text"', "must be a JSON object, not str"),
        ("application/json", b'{"a": NaN}', "not valid JSON"),
        ("application/json", b'{"a": "\xff"}', "not UTF-8"),
        ("application/json", b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        ("application/x-www-form-urlencoded", b"other=1", "no 'payload' field"),
        ("application/x-www-form-urlencoded", b"payload=1&payload=2", "more than one"),
        ("application/x-www-form-urlencoded", b"payload=%7B%22a%22%3A", "not valid JSON"),
        ("application/x-www-form-urlencoded", b"payload=%FF", "form body is malformed"),
        ("application/x-www-form-urlencoded", b"payload=%5B%5D", "not list"),
        ("text/plain", b"{}", "unsupported content type 'text/plain'"),
    ],
)
def test_malformed_bodies_raise(content_type: str, body: bytes, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        decode_payload(content_type, body)


def test_malformed_payload_is_a_value_error() -> None:
    assert issubclass(MalformedPayload, ValueError)
