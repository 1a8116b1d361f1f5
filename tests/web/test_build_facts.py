"""What people look for on a build's page and in its JSON: the pull request's title and head
→ base, the image it pushed (tags and digest), who cancelled it, the build it restarts, and
times both relative ("3 min ago", absolute in the title) and ISO in the API."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from testing.payloads import pull_request_payload, send
from tests.conftest import WEBHOOK_SECRET
from tests.web.records import Records, make_build
from tingle.build import BuildState, StepState
from tingle.forge.events import PR_TITLE_LIMIT

DIGEST = "sha256:" + "ab" * 32
HOSTILE_TITLE = "<script>alert(1)</script> & <img src=x onerror=alert(2)>"


def page_of(web: str, build_id: str) -> str:
    response = httpx.get(f"{web}/builds/{build_id}", timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def api_of(web: str, build_id: str) -> dict[str, Any]:
    response = httpx.get(f"{web}/api/builds/{build_id}", timeout=10)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def fact(page: str, name: str) -> str:
    found = re.search(rf"<dt>{name}</dt><dd>(.*?)</dd>", page)
    assert found, f"no {name!r} on the page"
    return found.group(1)


def pull_request(build_id: str, **fields: Any) -> Any:
    values: dict[str, Any] = {
        "event": "pull_request",
        "pr_number": 12,
        "branch": "feature",
        "base_branch": "main",
        "ref": "refs/heads/feature",
        "pr_title": HOSTILE_TITLE,
        "commit_message": "",
    }
    return make_build(build_id, **{**values, **fields})


def test_a_pull_requests_title_is_shown_escaped_with_head_into_base(
    web: str, records: Records
) -> None:
    records.save(pull_request("801"))
    page = page_of(web, "801")
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert fact(page, "Pull request") == (
        "<span class='pr-title'>&lt;script&gt;alert(1)&lt;/script&gt; &amp; "
        "&lt;img src=x onerror=alert(2)&gt;</span>"
    )
    assert fact(page, "Branches") == "<code>feature</code> → <code>main</code>"
    view = api_of(web, "801")
    assert (view["pr_title"], view["branch"], view["base_branch"]) == (
        HOSTILE_TITLE, "feature", "main",
    )  # fmt: skip
    listed = httpx.get(f"{web}/repos/octo/app", timeout=10).text  # no commit message: the title
    assert "&lt;script&gt;alert(1)" in listed and "<script>alert" not in listed


def test_a_forks_head_names_the_fork(web: str, records: Records) -> None:
    records.save(pull_request("802", is_fork=True, head_repo="stranger/app", pr_title="Fix"))
    assert fact(page_of(web, "802"), "Branches") == (
        "<code>stranger/app:feature</code> → <code>main</code>"
    )


def test_the_pushed_image_shows_its_tags_and_digest(web: str, records: Records) -> None:
    tags = ["localhost:5000/octo/app:c0ffee000000", "localhost:5000/octo/app:main"]
    records.save(
        make_build(
            "803",
            state=BuildState.SUCCESS,
            steps=(("push", StepState.SUCCESS),),
            image=f"localhost:5000/octo/app@{DIGEST}",
            image_tags=tags,
        )
    )
    shown = fact(page_of(web, "803"), "Image")
    assert f"<code class='digest'>{DIGEST}</code>" in shown
    assert re.findall(r"<li><code>([^<]+)</code></li>", shown) == tags
    assert api_of(web, "803")["image"] == {
        "pinned": f"localhost:5000/octo/app@{DIGEST}",
        "repository": "localhost:5000/octo/app",
        "digest": DIGEST,
        "tags": tags,
    }


def test_no_image_no_title_no_restart_on_an_old_plain_push(web: str, records: Records) -> None:
    records.save(make_build("804"))
    page, view = page_of(web, "804"), api_of(web, "804")
    for name in ("Image", "Pull request", "Restart of", "Cancelled by"):
        assert f"<dt>{name}</dt>" not in page
    assert (view["image"], view["pr_title"], view["restarted_from"], view["cancelled_by"]) == (
        None, None, None, None,
    )  # fmt: skip


def test_a_cancel_through_the_api_says_who(
    web: str, records: Records, admin_token: str, fake_github: object
) -> None:
    records.save(make_build("805", state=BuildState.QUEUED, steps=(), started_at=None))
    auth = {"Authorization": f"Bearer {admin_token}"}
    assert httpx.post(f"{web}/api/builds/805/cancel", headers=auth, timeout=10).json() == {
        "build_id": "805",
        "cancelled": True,
    }
    view = api_of(web, "805")
    assert (view["state"], view["reason"], view["cancelled_by"]) == (
        "cancelled", "cancelled by an admin (API)", "an admin (API)",
    )  # fmt: skip
    assert fact(page_of(web, "805"), "Cancelled by") == "an admin (API)"


def test_a_superseded_build_says_why_and_by_whom_none(web: str, records: Records) -> None:
    records.save(
        make_build("806", state=BuildState.CANCELLED, reason="superseded by #807",
                   superseded_by="807")
    )  # fmt: skip
    page = page_of(web, "806")
    assert "superseded by #807" in fact(page, "Result") and "<dt>Cancelled by</dt>" not in page


def test_a_restarted_build_links_to_its_original(
    web: str, records: Records, admin_token: str, fake_github: object
) -> None:
    records.save(make_build("808", state=BuildState.FAILURE, steps=(("t", StepState.FAILURE),)))
    auth = {"Authorization": f"Bearer {admin_token}"}
    answer = httpx.post(f"{web}/api/builds/808/restart", headers=auth, timeout=10).json()
    new_id = answer["build_id"]
    assert fact(page_of(web, new_id), "Restart of") == "<a href='/builds/808'>#808</a>"
    assert api_of(web, new_id)["restarted_from"] == "808"


def test_times_are_relative_with_the_absolute_time_beside(web: str, records: Records) -> None:
    created = time.time() - 3 * 60 - 5
    records.save(make_build("809", created_at=created, started_at=created + 2))
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created))
    absolute = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(created))
    assert fact(page_of(web, "809"), "Created") == (
        f"<time datetime='{iso}' title='{absolute}'>3 min ago</time>"
    )
    view = api_of(web, "809")
    assert (view["created"], view["created_at"], view["finished"]) == (iso, created, None)


def test_a_webhooks_title_and_default_branch_reach_the_page_through_admission(
    web: str, records: Records
) -> None:
    payload = pull_request_payload("octo/app", "b" * 40, number=21, head="stranger/app")
    payload["pull_request"]["title"] = "\u202eFix\n" + "<script>x</script>" * 100
    build_id = send(web, "pull_request", payload, secret=WEBHOOK_SECRET).json()["build_id"]
    record = records.get(build_id)
    base = payload["pull_request"]["base"]["ref"]
    assert (record.default_branch, record.base_branch) == ("main", base)
    assert record.pr_title is not None and len(record.pr_title) == PR_TITLE_LIMIT
    assert record.pr_title.startswith("Fix <script>x</script>")
    page = page_of(web, build_id)
    assert "<script>x" not in page and "\u202e" not in page
    assert "<code>stranger/app:feature</code> →" in fact(page, "Branches")
