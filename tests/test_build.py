"""The build record's JSON shape: what Redis holds and the web view and API read."""

from __future__ import annotations

import dataclasses
import json

from tingle.build import Build, BuildState, StepRecord, StepState


def a_build() -> Build:
    return Build(
        id="12",
        repo="octo/app",
        sha="a" * 40,
        ref="refs/heads/main",
        event="push",
        clone_url="https://github.com/octo/app.git",
        state=BuildState.FAILURE,
        problems=["build-info.yaml:3:9 template.type: unknown template"],
        steps=[StepRecord(name="test", state=StepState.FAILURE, exit_code=1, started_at=1.5)],
    )


def test_the_record_holds_every_field_as_asdict_would() -> None:
    build = a_build()
    assert build.to_dict() == dataclasses.asdict(build)


def test_the_record_survives_json_and_back() -> None:
    build = a_build()
    assert Build.from_dict(json.loads(json.dumps(build.to_dict()))) == build


def test_the_record_is_a_copy() -> None:
    build = a_build()
    record = build.to_dict()
    record["problems"].append("changed")
    record["steps"][0]["name"] = "changed"
    assert build.problems == ["build-info.yaml:3:9 template.type: unknown template"]
    assert build.steps[0].name == "test"
