"""Issue 13, item 8c: a pull request's build is filtered by its base branch in the worker exactly
as `tingle plan --event pull_request` filters it.

Before the fix the record had no base branch, so the worker compiled the plan with
`base_branch=None` and a step with `when: branch: main` never ran on a pull request into main,
although `tingle plan` listed it: the step names below differed (`['test']` against
`['test', 'on-main']`)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from testing.payloads import pull_request_payload, send
from tests.conftest import WEBHOOK_SECRET
from tests.engine.helpers import IMAGE
from tingle.worker.build_job import WorkerContext, run_build

INFO = f"""version: 2
steps:
  - name: test
    image: {IMAGE}
    commands: [echo testing]
  - name: on-main
    image: {IMAGE}
    when:
      branch: main
    commands: [echo only into main]
  - name: on-release
    image: {IMAGE}
    when:
      branch: release/*
    commands: [echo only into a release branch]
"""


def planned_steps(folder: Path) -> list[str]:
    """What `tingle plan` says a pull request from `feature` into `main` runs."""
    args = ["plan", str(folder), "--event", "pull_request", "--branch", "feature"]
    args += ["--base-branch", "main", "--default-branch", "trunk", "--pr", "7"]
    out = subprocess.run(
        [sys.executable, "-m", "tingle.cli", *args], capture_output=True, check=True, timeout=60
    )
    return [step["name"] for step in json.loads(out.stdout)["steps"]]


async def test_a_pull_request_runs_the_steps_of_its_base_branch_as_tingle_plan_says(
    web: str, app: WorkerContext, make_repo: Any, tmp_path: Path
) -> None:
    sha = make_repo("octo/app").commit({"build-info.yaml": INFO})
    (tmp_path / "checkout").mkdir()
    (tmp_path / "checkout" / "build-info.yaml").write_text(INFO)
    expected = planned_steps(tmp_path / "checkout")
    assert expected == ["test", "on-main"]
    payload = pull_request_payload("octo/app", sha, number=7)
    payload["pull_request"]["base"]["ref"] = "main"
    # Not the base: a worker falling back to the default branch would run other steps.
    payload["pull_request"]["base"]["repo"]["default_branch"] = "trunk"

    answer = await asyncio.to_thread(send, web, "pull_request", payload, secret=WEBHOOK_SECRET)
    build_id = answer.json()["build_id"]

    assert await run_build({"tingle": app}, build_id) == "success"
    build = await app.store.get(build_id)
    assert build is not None
    assert [s.name for s in build.steps] == expected
    assert (build.branch, build.base_branch) == ("feature", "main")
    shown = await asyncio.to_thread(httpx.get, f"{web}/api/builds/{build_id}", timeout=10)
    assert (shown.json()["branch"], shown.json()["base_branch"]) == ("feature", "main")
    page = await asyncio.to_thread(httpx.get, f"{web}/builds/{build_id}", timeout=10)
    assert "<code>feature</code> → <code>main</code>" in page.text
