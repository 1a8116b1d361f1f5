"""The HTML pages on real HTTP: repositories, a repository's builds, one build."""

from __future__ import annotations

import re

import httpx

from tests.web.records import Records, make_build
from tingle.build import BuildState, StepState


def get(url: str) -> httpx.Response:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return response


def test_repositories_show_their_newest_build(web: str, records: Records) -> None:
    records.save(make_build("101", "octo/app", BuildState.FAILURE, created_at=1000.0))
    records.save(make_build("102", "octo/app", BuildState.SUCCESS, created_at=2000.0))
    records.save(make_build("103", "octo/lib", BuildState.RUNNING, created_at=1500.0))
    page = get(f"{web}/").text.split("<table class='list repos'>")[1]  # below the feed
    assert page.index("octo/app") < page.index("octo/lib")  # most recently built first
    assert "href='/builds/102'" in page and "href='/builds/101'" not in page
    assert "state-success" in page and "state-running" in page
    assert "href='/repos/octo/app'" in page


def test_a_repositorys_builds_filter_by_branch_pr_and_state(web: str, records: Records) -> None:
    for n in range(1, 31):
        fields = {"branch": "main"} if n % 3 else {"branch": "feature", "pr_number": 9}
        state = BuildState.FAILURE if n % 5 == 0 else BuildState.SUCCESS
        records.save(make_build(str(200 + n), state=state, created_at=float(n), **fields))
    first = get(f"{web}/repos/octo/app").text
    assert len(re.findall(r"href='/builds/\d+'", first)) == 25
    assert "href='/builds/230'" in first and "rel='next'" in first
    second = get(f"{web}/repos/octo/app?page=2").text
    assert len(re.findall(r"href='/builds/\d+'", second)) == 5 and "rel='prev'" in second
    pr = get(f"{web}/repos/octo/app?pr=9").text
    assert set(re.findall(r"/builds/(\d+)'", pr)) == {str(200 + n) for n in range(3, 31, 3)}
    assert "pull request #9" in pr
    failed_main = get(f"{web}/repos/octo/app?branch=main&state=failure").text
    assert set(re.findall(r"/builds/(\d+)'", failed_main)) == {"205", "210", "220", "225"}
    bad = httpx.get(f"{web}/repos/octo/app?state=<b>", timeout=10)
    assert bad.status_code == 400 and "<b>" not in bad.text


def test_build_page_shows_commit_trigger_links_and_steps(web: str, records: Records) -> None:
    build = make_build(
        "301",
        state=BuildState.FAILURE,
        steps=(
            ("lint", StepState.SUCCESS),
            ("test", StepState.FAILURE),
            ("push", StepState.SKIPPED),
        ),
        event="pull_request",
        pr_number=12,
        pr_url="https://github.com/octo/app/pull/12",
        branch="feature",
        reason="step 'test' failed (exit 1)",
    )
    build.steps[1].exit_code = 1
    records.save(build)
    page = get(f"{web}/builds/301").text
    assert "href='https://github.com/octo/app/commit/301'" in page
    assert build.sha[:10] in page and "Make the tests pass" in page and "A longer body." in page
    assert "octocat" in page
    assert "<a href='https://github.com/octo/app/pull/12'>pull request #12</a>" in page
    assert "step &#x27;test&#x27; failed (exit 1)" in page
    assert re.findall(r"<span class='step-name'>(\w+)</span>", page) == [
        "lint",
        "test",
        "push",
    ]
    assert "id='step-1' data-step='1' data-state='failure' open" in page  # failures open
    assert "exit 1" in page and "3.0s" in page
    assert "/api/builds/301/steps/1/log?download=1" in page
    assert "script-src 'self'" in get(f"{web}/builds/301").headers["content-security-policy"]


def test_payload_text_is_escaped_and_only_http_links_are_made(web: str, records: Records) -> None:
    records.save(
        make_build(
            "302",
            author="<img src=x onerror=alert(1)>",
            commit_message="<script>alert('msg')</script>",
            commit_url="javascript:alert(1)",
            branch="<b>branch</b>",
            steps=(("<i>step</i>", StepState.RUNNING),),
        )
    )
    page = get(f"{web}/builds/302").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#x27;msg&#x27;)" in page
    assert "<img src=x" not in page and "<b>branch" not in page and "<i>step" not in page
    assert "javascript:" not in page


def test_truncated_log_is_marked(web: str, records: Records) -> None:
    build = make_build("303", steps=(("big", StepState.FAILURE), ("small", StepState.SKIPPED)))
    records.save(build)
    page = get(f"{web}/builds/303").text
    assert page.count("class='truncated' hidden") == 2  # not truncated: the marker is hidden
    build.steps[0].log_truncated = True  # set by the log writer at TINGLE_STEP_LOG_LIMIT
    records.save(build)
    page = get(f"{web}/builds/303").text
    assert page.count("class='truncated' hidden") == 1
    assert "<p class='truncated'>✂ Log truncated" in page
    steps = httpx.get(f"{web}/api/builds/303/steps", timeout=10).json()["items"]
    assert [s["log_truncated"] for s in steps] == [True, False]
    window = httpx.get(f"{web}/api/builds/303/steps/0/log?format=json", timeout=10).json()
    assert window["truncated"] is True


def test_unknown_build_is_404(web: str) -> None:
    response = httpx.get(f"{web}/builds/999999", timeout=10)
    assert response.status_code == 404 and "Build not found" in response.text


def test_static_assets_are_served(web: str) -> None:
    assert "EventSource" in get(f"{web}/static/steplog.js").text
    assert "Tingle.StepLog" in get(f"{web}/static/build.js").text
    assert ".a-c1" in get(f"{web}/static/tingle.css").text
