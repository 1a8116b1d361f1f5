"""The PR comment's markdown (pure), and finding Tingle's comment again."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tingle.forge.comment import (
    COMMENT_LIMIT,
    MARKER,
    CommentView,
    StepView,
    last_page_url,
    marked_comment_id,
    render_comment,
)

VIEW = CommentView(
    build_id="42",
    state="failure",
    build_url="https://tingle.example/builds/42",
    repo="octo/hello",
    sha="6113728f27ae82c7b1a177c8d03f9e96e0adf246",
    pr_number=7,
    steps=(
        StepView("checkout", "success", 1.4),
        StepView("test", "failure", 62.0),
        StepView("image", "skipped", None),
    ),
    failing_step="test",
    log_tail=("collected 3 items", "FAILED test_x.py::test_y - assert 1 == 2"),
    reason="step test exited with code 1",
)


def fence_blocks(body: str) -> list[tuple[str, str]]:
    """(fence, content) of every fenced block, read as CommonMark reads them."""
    blocks, lines, i = [], body.split("\n"), 0
    while i < len(lines):
        opening = re.fullmatch(r" {0,3}(`{3,})([^`]*)", lines[i])
        if opening is None:
            i += 1
            continue
        fence, content, i = opening.group(1), [], i + 1
        while i < len(lines) and not re.fullmatch(rf" {{0,3}}`{{{len(fence)},}}\s*", lines[i]):
            content.append(lines[i])
            i += 1
        assert i < len(lines), "a code block is never closed"
        blocks.append((fence, "\n".join(content)))
        i += 1
    return blocks


def outside_blocks(body: str) -> str:
    for _, content in fence_blocks(body):
        body = body.replace(content, "")
    return body


def test_the_comment_starts_with_the_marker_and_says_the_state() -> None:
    body = render_comment(VIEW)
    assert body.startswith(MARKER + "\n")
    assert "**Tingle build [#42](<https://tingle.example/builds/42>) failed**" in body
    assert "6113728f27ae82c7b1a177c8d03f9e96e0adf246" in body
    assert "Reason: step test exited with code 1" in body


def test_steps_are_a_table_with_durations() -> None:
    body = render_comment(VIEW)
    assert "| Step | State | Duration |" in body
    assert "| checkout | success | 1s |" in body
    assert "| test | failure | 1m02s |" in body
    assert "| image | skipped | - |" in body


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0.2, "0s"), (59.4, "59s"), (60, "1m00s"), (3725, "1h02m")]
)
def test_durations(seconds: float, shown: str) -> None:
    view = dataclasses.replace(VIEW, steps=(StepView("s", "success", seconds),))
    assert f"| s | success | {shown} |" in render_comment(view)


def test_the_failing_steps_last_lines_are_in_a_code_block() -> None:
    [(fence, content)] = fence_blocks(render_comment(VIEW))
    assert fence == "```"
    assert content == "collected 3 items\nFAILED test_x.py::test_y - assert 1 == 2"


def test_a_log_with_backticks_cannot_close_the_block() -> None:
    log = ("```", "@everyone **bold**", "  ````` ", "end")
    body = render_comment(dataclasses.replace(VIEW, log_tail=log))
    [(fence, content)] = fence_blocks(body)
    assert len(fence) == 6 and content == "\n".join(log)
    assert body.rstrip().endswith("[build page](<https://tingle.example/builds/42>)")


def test_colour_codes_and_control_characters_are_dropped_from_the_log() -> None:
    view = dataclasses.replace(VIEW, log_tail=("\x1b[31mred\x1b[0m\x07 text\r",))
    [(_, content)] = fence_blocks(render_comment(view))
    assert content == "red text"


def test_names_and_reasons_cannot_add_markup_cells_or_mentions() -> None:
    view = dataclasses.replace(
        VIEW,
        steps=(StepView("a|b <img src=x> [x](y)", "failure", 1),),
        failing_step="a|b",
        reason="ping @octocat\nand **shout**",
    )
    body = render_comment(view)
    assert r"| a\|b \<img src=x\> \[x\](y) | failure | 1s |" in body
    assert "Reason: ping @\u200boctocat and \\*\\*shout\\*\\*" in body
    assert "@octocat" not in body


def test_without_steps_or_log_there_is_no_table_or_block() -> None:
    view = CommentView("9", "queued", "https://t/b/9", "o/r", "abc", 1)
    body = render_comment(view)
    assert "is queued" in body and "|" not in body and "```" not in body


def test_a_huge_log_is_cut_from_its_oldest_end_to_fit() -> None:
    lines = tuple(f"line {i:06d} " + "x" * 90 for i in range(5000))
    body = render_comment(dataclasses.replace(VIEW, log_tail=lines))
    assert len(body) <= COMMENT_LIMIT and len(body) > COMMENT_LIMIT - 200  # no waste either
    assert "cut to fit in a comment" in body
    [(_, content)] = fence_blocks(body)
    assert content.endswith(lines[-1]) and lines[0] not in content
    assert "| test | failure | 1m02s |" in body  # the table is untouched


def test_a_huge_table_is_cut_once_the_log_is_gone() -> None:
    steps = tuple(StepView(f"step-{i}-" + "n" * 150, "success", i) for i in range(2000))
    body = render_comment(dataclasses.replace(VIEW, steps=steps, log_tail=("x" * 70000,)))
    assert len(body) <= COMMENT_LIMIT
    assert "The log of test is too long to show here." in body
    assert re.search(r"\| and \d+ more steps, on the build page \| \| \|", body)
    assert body.rstrip().endswith("[build page](<https://tingle.example/builds/42>)")


def test_a_small_limit_is_honoured() -> None:
    assert len(render_comment(VIEW, limit=300)) <= 300


@settings(max_examples=60, deadline=None)
@given(
    log=st.lists(st.text(max_size=300), max_size=40),
    names=st.lists(st.text(max_size=50), max_size=10),
    reason=st.text(max_size=200),
    limit=st.integers(min_value=600, max_value=4000),
)
def test_any_input_fits_and_keeps_the_marker_and_a_closed_block(
    log: list[str], names: list[str], reason: str, limit: int
) -> None:
    view = dataclasses.replace(
        VIEW,
        log_tail=tuple(log),
        steps=tuple(StepView(n, "failure", 1) for n in names),
        reason=reason,
    )
    body = render_comment(view, limit=limit)
    assert len(body) <= limit and body.startswith(MARKER)
    assert body.rstrip().endswith("[build page](<https://tingle.example/builds/42>)")
    assert len(fence_blocks(body)) <= 1  # and it is closed
    assert re.search(r"@(?!\u200b)\w", outside_blocks(body)) is None  # nobody is mentioned


# --- finding the comment ------------------------------------------------------------------------


def test_the_newest_comment_with_the_marker_is_found() -> None:
    page = [
        {"id": 1, "body": MARKER + "\nold"},
        {"id": 2, "body": "a person's comment quoting\n" + MARKER},
        {"id": 3, "body": MARKER + "\nnewer"},
        {"id": 4, "body": "LGTM"},
    ]
    assert marked_comment_id(page) == 3
    assert marked_comment_id(page[1:2]) is None
    assert marked_comment_id([]) is None


def test_the_last_page_url_comes_from_the_link_header() -> None:
    header = (
        '<https://api.github.com/repositories/1/issues/7/comments?page=2>; rel="next", '
        '<https://api.github.com/repositories/1/issues/7/comments?page=5>; rel="last"'
    )
    assert last_page_url(header) == "https://api.github.com/repositories/1/issues/7/comments?page=5"
    assert last_page_url('<https://x/?page=1>; rel="prev"') is None
    assert last_page_url(None) is None
