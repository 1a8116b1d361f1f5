"""`tingle plan`'s `delivery`: the image tags and commit status contexts a build would use, as
the worker computes them (the same functions), for each kind of build."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tingle.cli import main

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ["--templates", str(ROOT / "templates"), "--agents", str(ROOT / "does-not-exist")]
SHA = "ab" * 20


def planned(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, *args: str) -> Any:
    (tmp_path / "build-info.yaml").write_text(text)
    assert main(["plan", str(tmp_path), *TEMPLATES, "--sha", SHA, *args]) == 0
    return json.loads(capsys.readouterr().out)["delivery"]


PIPELINE = "version: 2\ntemplate:\n  type: dataPipeline\n"


def test_a_push_to_the_default_branch_tags_the_sha_and_the_branch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TINGLE_REGISTRY", "registry.example:5000")
    delivery = planned(tmp_path, capsys, PIPELINE, "--repo", "Acme/Daily", "--branch", "main")
    own = "registry.example:5000/acme/daily"
    assert delivery == {
        "image_tags": [f"{own}:{SHA[:12]}", f"{own}:main"],
        "pushes_image": True,
        "status_contexts": ["tingle", "tingle/test", "tingle/image", "tingle/deploy"],
    }


def test_another_branch_or_a_pull_request_tags_the_sha_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    branch = planned(tmp_path, capsys, PIPELINE, "--repo", "acme/daily", "--branch", "wip")
    pr = planned(
        tmp_path, capsys, PIPELINE, "--repo", "acme/daily", "--event", "pull_request", "--pr", "3"
    )
    for delivery in (branch, pr):
        assert delivery["image_tags"] == [f"localhost:5000/acme/daily:{SHA[:12]}"]
        assert delivery["status_contexts"] == ["tingle", "tingle/test", "tingle/image"]


def test_a_fork_builds_but_never_pushes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    delivery = planned(
        tmp_path, capsys, PIPELINE, "--repo", "acme/daily", "--event", "pull_request", "--fork"
    )
    assert delivery["pushes_image"] is False and len(delivery["image_tags"]) == 1


def test_no_image_step_no_tags_and_the_operators_context(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TINGLE_STATUS_CONTEXT", "ci/tingle")
    steps_only = "version: 2\nsteps:\n  - name: test\n    image: busybox\n    commands: ['true']\n"
    delivery = planned(tmp_path, capsys, steps_only)
    assert delivery == {
        "image_tags": [],
        "pushes_image": False,
        "status_contexts": ["ci/tingle", "ci/tingle/test"],
    }
