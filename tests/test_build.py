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


def test_the_record_is_a_copy_of_the_pushed_tags_too() -> None:
    build = a_build()
    build.image_tags = ["localhost:5000/octo/app:aaaaaaaaaaaa"]
    build.to_dict()["image_tags"].append("changed")
    assert build.image_tags == ["localhost:5000/octo/app:aaaaaaaaaaaa"]


def test_a_record_stored_before_the_pages_fields_reads_with_their_defaults() -> None:
    old = a_build().to_dict()
    for name in ("pr_title", "image_tags", "cancelled_by", "restarted_from", "base_branch"):
        del old[name]
    build = Build.from_dict(json.loads(json.dumps(old)))
    assert (build.pr_title, build.image_tags, build.cancelled_by, build.restarted_from) == (
        None, [], None, None,
    )  # fmt: skip


def test_a_restart_names_its_original_and_keeps_nothing_of_its_run() -> None:
    build = a_build()
    build.image, build.image_tags = "reg/octo/app@sha256:" + "1" * 64, ["reg/octo/app:aaa"]
    build.cancel("cancelled by an admin (API)", by="an admin (API)")
    again = build.restarted()
    assert (again.restarted_from, again.image, again.image_tags, again.cancelled_by) == (
        "12", None, [], None,
    )  # fmt: skip
    assert build.cancelled_by == "an admin (API)" and build.state is BuildState.CANCELLED
