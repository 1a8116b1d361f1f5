"""A pull request's title is input: kept as one line of plain text, bounded, whatever it holds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from testing.payloads import FIXTURES as OCTOKIT
from tingle.forge.events import (
    PR_TITLE_LIMIT,
    BuildTrigger,
    MalformedPayload,
    clean_title,
    parse_event,
)


def opened(title: Any) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((OCTOKIT / "pull_request_opened.json").read_text())
    payload["pull_request"]["title"] = title
    return payload


def title_of(payload: dict[str, Any]) -> str | None:
    built = parse_event("pull_request", payload)
    assert isinstance(built, BuildTrigger)
    return built.pr_title


def test_control_and_bidi_characters_become_spaces_and_runs_one() -> None:
    hostile = "Fix\n\n<script>alert(1)</script>\x00\x1b[31m red\u202egnp.exe\u2028end\t "
    assert clean_title(hostile) == "Fix <script>alert(1)</script> [31m red gnp.exe end"


def test_a_long_title_is_cut_with_an_ellipsis() -> None:
    cut = clean_title("é" * 10_000)
    assert len(cut) == PR_TITLE_LIMIT and cut.endswith("…")
    assert clean_title("a" * PR_TITLE_LIMIT) == "a" * PR_TITLE_LIMIT  # exactly the limit: kept


def test_the_payloads_title_is_recorded_cleaned_and_bounded() -> None:
    assert title_of(opened("  Add <b>bold</b>\r\nfeature ")) == "Add <b>bold</b> feature"
    long = title_of(opened("x" * 1_000_000))
    assert long is not None and len(long) == PR_TITLE_LIMIT


def test_a_missing_or_null_title_is_none_and_a_wrong_type_is_malformed() -> None:
    payload = opened(None)
    assert title_of(payload) is None
    del payload["pull_request"]["title"]
    assert title_of(payload) is None
    with pytest.raises(MalformedPayload, match=r"pull_request\.title"):
        parse_event("pull_request", opened(["not", "text"]))
