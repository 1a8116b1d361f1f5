"""A signed webhook for a real git repository ends as steps run in real containers, logs in Redis,
and commit statuses at the GitHub fake."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
import redis

from testing.payloads import pull_request_payload, push_payload, send
from tests.conftest import TEST_IMAGE, WEBHOOK_SECRET
from tingle.settings import Settings

pytestmark = pytest.mark.usefixtures("docker_client")


def build_info(*steps: str) -> str:
    return "version: 2\nsteps:\n" + "".join(steps)


def step(name: str, *commands: str, image: str = TEST_IMAGE) -> str:
    listed = "".join(f"      - {json.dumps(c)}\n" for c in commands)
    return f"  - name: {name}\n    image: {image}\n    commands:\n{listed}"


def record(settings: Settings, build_id: str) -> dict[str, Any]:
    raw = redis.Redis.from_url(settings.redis_url).get(f"tingle:build:{build_id}")
    data: dict[str, Any] = json.loads(cast(bytes, raw))
    return data


def log_of(settings: Settings, build_id: str, step_index: int) -> str:
    client = redis.Redis.from_url(settings.redis_url)
    entries = cast(
        list[tuple[bytes, dict[bytes, bytes]]], client.xrange(f"tingle:log:{build_id}:{step_index}")
    )
    return "\n".join(fields[b"t"].decode() for _, fields in entries)


def states(fake_github: Any, repo: str, sha: str) -> list[str]:
    return [s["state"] for s in fake_github.statuses(repo, sha) if s["context"] == "tingle"]


def test_passing_build_runs_steps_in_containers(
    web: str, settings: Settings, make_repo: Any, run_worker: Any, fake_github: Any
) -> None:
    repo = make_repo("octo/app")
    sha = repo.commit(
        {
            "build-info.yaml": build_info(
                step("hello", "echo hello from $TINGLE_REPO at $TINGLE_COMMIT_SHA"),
                step("files", "test -f app.txt", "cat app.txt", "echo done >&2"),
            ),
            "app.txt": "the app\n",
        }
    )
    build_id = send(web, "push", push_payload("octo/app", sha), secret=WEBHOOK_SECRET).json()[
        "build_id"
    ]
    run_worker()

    build = record(settings, build_id)
    assert build["state"] == "success", build
    assert [(s["name"], s["state"], s["exit_code"]) for s in build["steps"]] == [
        ("hello", "success", 0),
        ("files", "success", 0),
    ]
    assert all(s["finished_at"] >= s["started_at"] for s in build["steps"])
    assert log_of(settings, build_id, 0).splitlines() == [
        "+ echo hello from $TINGLE_REPO at $TINGLE_COMMIT_SHA",
        f"hello from octo/app at {sha}",
    ]
    assert log_of(settings, build_id, 1).splitlines() == [
        "+ test -f app.txt",
        "+ cat app.txt",
        "the app",
        "+ echo done >&2",
        "done",
    ]
    fake_github.wait_for_status("octo/app", sha, "tingle", "success", timeout=10)
    assert states(fake_github, "octo/app", sha)[0] == "pending"
    assert states(fake_github, "octo/app", sha)[-1] == "success"
    final = fake_github.statuses("octo/app", sha)[-1]
    assert final["target_url"] == f"http://tingle.test/builds/{build_id}"


def test_failing_step_fails_the_build_and_skips_the_rest(
    web: str, settings: Settings, make_repo: Any, run_worker: Any, fake_github: Any
) -> None:
    repo = make_repo("octo/app")
    sha = repo.commit(
        {
            "build-info.yaml": build_info(
                step("test", "echo checking", "exit 3", "echo never printed"),
                step("after", "echo never run"),
            )
        }
    )
    build_id = send(web, "push", push_payload("octo/app", sha), secret=WEBHOOK_SECRET).json()[
        "build_id"
    ]
    run_worker()

    build = record(settings, build_id)
    assert build["state"] == "failure"
    assert build["reason"] == "step 'test' failed (exit 3)"
    assert [(s["state"], s["exit_code"]) for s in build["steps"]] == [
        ("failure", 3),
        ("skipped", None),
    ]
    assert "never printed" not in log_of(settings, build_id, 0)
    status = fake_github.wait_for_status("octo/app", sha, "tingle", "failure", timeout=10)
    assert status["description"] == f"Build #{build_id} failed: step 'test' failed (exit 3)"


def test_missing_image_is_an_infrastructure_error(
    web: str, settings: Settings, make_repo: Any, run_worker: Any, fake_github: Any
) -> None:
    repo = make_repo("octo/app")
    sha = repo.commit(
        {"build-info.yaml": build_info(step("test", "true", image="tingle-test/nope:missing"))}
    )
    build_id = send(web, "push", push_payload("octo/app", sha), secret=WEBHOOK_SECRET).json()[
        "build_id"
    ]
    run_worker()

    build = record(settings, build_id)
    assert build["state"] == "error"
    assert "image 'tingle-test/nope:missing' not found" in build["reason"]
    assert build["steps"][0]["state"] == "error"
    fake_github.wait_for_status("octo/app", sha, "tingle", "error", timeout=10)


def test_commit_without_build_info_is_skipped(
    web: str, settings: Settings, make_repo: Any, run_worker: Any, fake_github: Any
) -> None:
    sha = make_repo("octo/app").commit({"README.md": "no build here\n"})
    build_id = send(web, "push", push_payload("octo/app", sha), secret=WEBHOOK_SECRET).json()[
        "build_id"
    ]
    run_worker()

    build = record(settings, build_id)
    assert (build["state"], build["reason"]) == ("skipped", "no build-info.yaml in this commit")
    status = fake_github.wait_for_status("octo/app", sha, "tingle", "success", timeout=10)
    assert "skipped" in status["description"]


def test_unknown_commit_is_a_checkout_error(
    web: str, settings: Settings, make_repo: Any, run_worker: Any, fake_github: Any
) -> None:
    make_repo("octo/app").commit({"README.md": "x\n"})
    missing = "b" * 40
    build_id = send(web, "push", push_payload("octo/app", missing), secret=WEBHOOK_SECRET).json()[
        "build_id"
    ]
    run_worker()

    build = record(settings, build_id)
    assert build["state"] == "error"
    assert build["reason"].startswith("checkout failed:")
    fake_github.wait_for_status("octo/app", missing, "tingle", "error", timeout=10)


def test_broken_build_info_fails_with_its_problems(
    web: str, settings: Settings, make_repo: Any, run_worker: Any, fake_github: Any
) -> None:
    sha = make_repo("octo/app").commit(
        {"build-info.yaml": "version: 2\nsteps:\n  - name: test\n    commands: [true]\n"}
    )
    build_id = send(web, "push", push_payload("octo/app", sha), secret=WEBHOOK_SECRET).json()[
        "build_id"
    ]
    run_worker()

    build = record(settings, build_id)
    assert build["state"] == "failure"
    assert build["problems"], build
    assert build["reason"] == build["problems"][0]
    assert "build-info.yaml:" in build["reason"]
    fake_github.wait_for_status("octo/app", sha, "tingle", "failure", timeout=10)


def test_pull_request_from_a_fork_builds_the_forks_commit(
    web: str, settings: Settings, make_repo: Any, run_worker: Any, fake_github: Any
) -> None:
    make_repo("octo/app").commit({"README.md": "base\n"})
    fork = make_repo("someone/app")
    sha = fork.commit(
        {"build-info.yaml": build_info(step("test", "echo PR $TINGLE_PR_NUMBER on $TINGLE_EVENT"))}
    )
    payload = pull_request_payload("octo/app", sha, number=5, head="someone/app")
    build_id = send(web, "pull_request", payload, secret=WEBHOOK_SECRET).json()["build_id"]
    run_worker()

    assert record(settings, build_id)["state"] == "success"
    assert "PR 5 on pull_request" in log_of(settings, build_id, 0)
    fake_github.wait_for_status("octo/app", sha, "tingle", "success", timeout=10)
