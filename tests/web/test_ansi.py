"""Log lines become safe HTML: escaped first, then colours as spans."""

from __future__ import annotations

import pytest

from tingle.web.ansi import render_line


def test_markup_in_a_log_line_is_text() -> None:
    assert render_line("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert render_line("a & 'b' \"c\"") == "a &amp; &#x27;b&#x27; &quot;c&quot;"


def test_base_colours_and_bold_become_classes() -> None:
    assert render_line("\x1b[1;31mFAIL\x1b[0m done") == "<span class='a-b a-c1'>FAIL</span> done"
    assert render_line("\x1b[92mok\x1b[39m") == "<span class='a-c10'>ok</span>"
    assert render_line("\x1b[44mbg\x1b[m") == "<span class='a-bg-c4'>bg</span>"


def test_256_and_true_colours_become_computed_styles() -> None:
    assert render_line("\x1b[38;5;196mx") == "<span style='color:#ff0000'>x</span>"
    assert render_line("\x1b[38;5;244mx") == "<span style='color:#808080'>x</span>"
    assert render_line("\x1b[48;2;1;2;300mx") == "<span style='background:#0102ff'>x</span>"


def test_a_style_change_closes_the_open_span() -> None:
    assert render_line("\x1b[31ma\x1b[32mb\x1b[0mc") == (
        "<span class='a-c1'>a</span><span class='a-c2'>b</span>c"
    )


def test_an_unclosed_colour_is_closed_at_the_end_of_the_line() -> None:
    assert render_line("\x1b[33mwarn") == "<span class='a-c3'>warn</span>"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2K\x1b[1Gdownloading", "downloading"),  # erase line, cursor moves: dropped
        ("\x1b]8;;https://x.test\x07link\x1b]8;;\x07", "link"),  # OSC 8 hyperlinks: text kept
        ("10%\r50%\r100%", "100%"),  # progress bars: what was written last
        ("bell\x07 and nul\x00", "bell and nul"),
        ("tab\tkept", "tab\tkept"),
    ],
)
def test_other_control_sequences_are_dropped(raw: str, shown: str) -> None:
    assert render_line(raw) == shown


def test_an_escape_sequence_cannot_smuggle_markup() -> None:
    html = render_line('\x1b[31;"><img src=x onerror=alert(1)>m text')
    assert "<img" not in html and "&lt;img" in html
    assert render_line("\x1b[38;5;<b>m") == "[38;5;&lt;b&gt;m"
