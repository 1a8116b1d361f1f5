"""The JSON API (for a Backstage CI/CD tab), step logs as text and JSON windows, and the badge."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.web.records import Records, make_build
from tingle.build import BuildState, StepState


def get_json(url: str, status: int = 200) -> Any:
    response = httpx.get(url, timeout=10)
    assert response.status_code == status, response.text
    return response.json()


def test_repos_and_their_builds(web: str, records: Records) -> None:
    for n in range(1, 8):
        records.save(make_build(str(400 + n), "octo/app", BuildState.SUCCESS, created_at=float(n)))
    records.save(make_build("420", "octo/lib", BuildState.FAILURE, created_at=100.0))
    repos = get_json(f"{web}/api/repos")
    assert [r["repo"] for r in repos["items"]] == ["octo/lib", "octo/app"]
    assert repos["items"][1]["latest"]["id"] == "407"
    assert repos["total"] == 2
    page = get_json(f"{web}/api/repos/octo/app/builds?per_page=3&page=2")
    assert [b["id"] for b in page["items"]] == ["404", "403", "402"]
    assert (page["has_more"], page["total"], page["per_page"]) == (True, 7, 3)
    summary = page["items"][0]
    assert summary["url"] == "http://tingle.test/builds/404"
    assert summary["commit_message"] == "Make the tests pass"
    assert summary["trigger"] == "push to main" and summary["author"] == "octocat"
    assert get_json(f"{web}/api/repos/octo/app/builds?state=failure")["items"] == []
    assert "error" in get_json(f"{web}/api/repos/octo/app/builds?page=0", status=400)


def test_one_build_and_its_steps(web: str, records: Records) -> None:
    records.save(make_build("430", steps=(("a", StepState.SUCCESS), ("b", StepState.RUNNING))))
    build = get_json(f"{web}/api/builds/430")
    assert build["state"] == "running" and build["repo"] == "octo/app"
    assert [s["name"] for s in build["steps"]] == ["a", "b"]
    steps = get_json(f"{web}/api/builds/430/steps")["items"]
    assert steps[0]["log_url"] == "/api/builds/430/steps/0/log"
    assert steps[1]["log_events_url"] == "/api/builds/430/steps/1/events"
    assert steps[0]["duration"] == pytest.approx(3.0, abs=0.01)
    assert "clone_url" not in build and "worker" not in build  # views list fields one by one
    assert get_json(f"{web}/api/builds/nope", status=404) == {"error": "build not found"}


def test_step_log_as_text_and_as_windows(web: str, records: Records) -> None:
    records.save(make_build("440"))
    ids = [records.append("440", 0, [f"line {n}" for n in range(k, k + 10)]) for k in (1, 11, 21)]
    base = f"{web}/api/builds/440/steps/0/log"
    assert httpx.get(base, timeout=10).text == "\n".join(f"line {n}" for n in range(1, 31))
    download = httpx.get(f"{base}?download=1", timeout=10)
    assert download.headers["content-disposition"] == (
        'attachment; filename="tingle-build-440-step-0.log"'
    )
    tail = get_json(f"{base}?format=json&tail=5")
    assert tail["lines"] == [f"line {n}" for n in range(26, 31)]
    assert (tail["first_line"], tail["total_lines"], tail["last_id"]) == (26, 30, ids[-1])
    earlier = get_json(
        f"{base}?format=json&tail=7&before={tail['before']['id']}"
        f"&before_line={tail['before']['line']}"
    )
    assert earlier["lines"] == [f"line {n}" for n in range(19, 26)]
    after = httpx.get(f"{base}?after={ids[0]}", headers={"Accept": "application/json"}).json()
    assert after["first_line"] == 11 and len(after["lines"]) == 20
    around = get_json(f"{base}?format=json&line=15&tail=8")
    assert around["first_line"] <= 15 < around["first_line"] + 8
    assert get_json(f"{base}?format=json&after=1;DROP", status=400)["error"]
    assert httpx.get(f"{web}/api/builds/440/steps/5/log", timeout=10).status_code == 404


def test_log_windows_render_html_escaped_with_colours(web: str, records: Records) -> None:
    records.save(make_build("441"))
    records.append("441", 0, ["<script>alert(1)</script>", "\x1b[31mred\x1b[0m"])
    window = get_json(f"{web}/api/builds/441/steps/0/log?format=json&render=html")
    assert window["html"] == [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "<span class='a-c1'>red</span>",
    ]
    raw = httpx.get(f"{web}/api/builds/441/steps/0/log", timeout=10)
    assert raw.headers["content-type"].startswith("text/plain")
    assert raw.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("saved", "query", "word"),
    [
        ([("main", BuildState.SUCCESS)], "?branch=main", "passing"),
        ([("main", BuildState.SUCCESS), ("main", BuildState.FAILURE)], "", "failing"),
        ([("main", BuildState.FAILURE), ("dev", BuildState.SUCCESS)], "?branch=dev", "passing"),
        ([("main", BuildState.RUNNING)], "?branch=main", "running"),
        ([("main", BuildState.SUCCESS)], "?branch=other", "unknown"),
    ],
)
def test_badge_shows_the_newest_push_build_of_the_branch(
    web: str, records: Records, saved: list[tuple[str, BuildState]], query: str, word: str
) -> None:
    for n, (branch, state) in enumerate(saved):
        records.save(make_build(str(450 + n), state=state, branch=branch, created_at=float(n)))
    # a newer pull request build of main's head branch does not count
    records.save(make_build("499", state=BuildState.ERROR, pr_number=3, created_at=99.0))
    response = httpx.get(f"{web}/badge/octo/app.svg{query}", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"].startswith("no-cache")
    assert f">{word}</text>" in response.text
    assert response.text.startswith("<svg ")


def test_badge_label_is_escaped(web: str) -> None:
    svg = httpx.get(f"{web}/badge/octo/none.svg?label=<b>x</b>", timeout=10).text
    assert "<b>" not in svg and "&lt;b&gt;x" in svg and ">unknown</text>" in svg
