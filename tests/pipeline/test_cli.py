"""`tingle validate`, `tingle plan` and `tingle schema` through the real argument parser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tingle.cli import main
from tingle.pipeline.schema import schema_json

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ["--templates", str(ROOT / "templates"), "--agents", str(ROOT / "does-not-exist")]


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "build-info.yaml").write_text(text)
    return tmp_path


def test_validate_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write(tmp_path, "version: 2\ntemplate:\n  type: python\n")
    assert main(["validate", str(folder), *TEMPLATES]) == 0
    assert capsys.readouterr().out == ""


def test_validate_prints_each_problem_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "version: 2\ntemplate:\n  type: pyhton\nstpes: []\n") / "build-info.yaml"
    assert main(["validate", str(path), *TEMPLATES]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{path}:3:9 template.type: unknown template 'pyhton' (did you mean 'python'?)",
        f"{path}:4:1 unknown key 'stpes' (did you mean 'steps'?)",
    ]


def test_validate_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path), *TEMPLATES]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_plan_prints_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write(tmp_path, "version: 2\ntemplate:\n  type: dataPipeline\n")
    args = [
        "plan",
        str(folder),
        *TEMPLATES,
        "--branch",
        "main",
        "--event",
        "push",
        "--sha",
        "ab" * 20,
    ]
    assert main([*args, "--repo", "acme/daily"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [step["name"] for step in plan["steps"]] == ["test", "build", "push", "deploy"]
    assert plan["steps"][1]["tags"] == []  # Tingle's: <TINGLE_REGISTRY>/<owner>/<repo>:<sha>


def test_plan_for_a_fork_pull_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "version: 2\ntemplate:\n  type: dataPipeline\nsecrets:\n  bucket: b\n  names: [s]\n"
    folder = write(tmp_path, text + "steps:\n  - name: test\n    secrets: [s]\n")
    args = ["plan", str(folder), *TEMPLATES, "--event", "pull_request", "--branch", "feature"]
    assert main([*args, "--pr", "4", "--fork"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [step["name"] for step in plan["steps"]] == ["test", "build"]
    assert plan["secrets_source"] is None and plan["steps"][0]["secrets"] == []


def test_plan_with_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write(tmp_path, "version: 3\n")
    assert main(["plan", str(folder), *TEMPLATES]) == 1
    assert "unsupported version 3; supported versions: 2" in capsys.readouterr().out


def test_broken_templates_are_reported_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "bad.yaml").write_text("steps: []\n")
    folder = write(tmp_path, "version: 2\n")
    assert main(["validate", str(folder), "--templates", str(tmp_path / "templates")]) == 2
    assert "templates/bad.yaml:1:1 description: required" in capsys.readouterr().err


def test_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == schema_json()


def test_plan_deploys_from_the_branches_the_operator_lists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write(tmp_path, "version: 2\ntemplate:\n  type: dataPipeline\n")
    args = ["plan", str(folder), "--repo", "acme/reports", "--branch", "wip/x", *TEMPLATES]
    assert main(args) == 0
    assert "deploy" not in [s["name"] for s in json.loads(capsys.readouterr().out)["steps"]]
    monkeypatch.setenv("TINGLE_DEPLOY_BRANCHES", "acme/reports:wip/*")
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["steps"][-1]["name"] == "deploy"
