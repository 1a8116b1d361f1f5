"""One log line to HTML: escape first, then turn ANSI SGR codes (colours, bold...) into spans.

Escaping comes first so that nothing from the log can ever become markup: `html.escape` leaves
ESC, `[`, digits, `;` and `m` alone, so the SGR codes survive it, and every span we add carries only
class names or colours computed from integers. Other escape sequences (cursor moves, erase line) are
dropped. Each line is rendered on its own (colours do not carry over lines), so a line looks the
same whichever way it was loaded: tail, earlier lines on demand, or live.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from html import escape
from typing import Any

_CSI = re.compile(r"\x1b\[([0-9;:?]*)([@-~])")
_OTHER_ESCAPES = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# xterm's 6x6x6 cube levels and the 16 base colours' classes (a-c0 .. a-c15 in tingle.css).
_CUBE = (0, 95, 135, 175, 215, 255)


@dataclass(frozen=True)
class Style:
    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    fg: str | None = None  # "c3" (a class) or "#rrggbb"
    bg: str | None = None

    def span(self) -> str:
        if self == _PLAIN:
            return ""
        classes = [
            name for name, on in (("a-b", self.bold), ("a-d", self.dim), ("a-i", self.italic)) if on
        ]
        if self.underline:
            classes.append("a-u")
        styles = []
        for prefix, css, colour in (("a-", "color", self.fg), ("a-bg-", "background", self.bg)):
            if colour is None:
                continue
            if colour.startswith("#"):
                styles.append(f"{css}:{colour}")
            else:
                classes.append(prefix + colour)
        attrs = f" class='{' '.join(classes)}'" if classes else ""
        if styles:
            attrs += f" style='{';'.join(styles)}'"
        return f"<span{attrs}>"


_PLAIN = Style()


def render_line(line: str) -> str:
    """`line` as safe HTML with its colours as spans."""
    line = _overwrite(line)
    text = escape(line, quote=True)
    text = _OTHER_ESCAPES.sub("", text)
    out: list[str] = []
    style = _PLAIN
    position = 0
    for match in _CSI.finditer(text):
        out.append(_CONTROL.sub("", text[position : match.start()]))
        position = match.end()
        if match.group(2) != "m":
            continue  # cursor movement and the like: nothing to show
        new = apply_sgr(style, match.group(1))
        if new != style:
            if style != _PLAIN:
                out.append("</span>")
            out.append(new.span())
            style = new
    out.append(_CONTROL.sub("", text[position:]))
    if style != _PLAIN:
        out.append("</span>")
    return "".join(out)


def _overwrite(line: str) -> str:
    """A carriage return (progress bars) starts the line again: keep what was written last."""
    if "\r" not in line:
        return line
    parts = [part for part in line.split("\r") if part]
    return parts[-1] if parts else ""


# SGR codes that set or clear attributes of the style, whatever came before.
_ATTRIBUTES: dict[int, dict[str, Any]] = {
    1: {"bold": True},
    2: {"dim": True},
    3: {"italic": True},
    4: {"underline": True},
    22: {"bold": False, "dim": False},
    23: {"italic": False},
    24: {"underline": False},
    39: {"fg": None},
    49: {"bg": None},
}


def apply_sgr(style: Style, params: str) -> Style:
    """The style after one SGR sequence (`params` as in ESC [ params m)."""
    codes = [int(p) if p.isdigit() else 0 for p in params.replace(":", ";").split(";")]
    i = 0
    while i < len(codes):
        code = codes[i]
        i += 1
        if code in (38, 48):  # an extended colour: its arguments follow
            colour, used = _extended(codes[i:])
            i += used
            style = replace(style, fg=colour) if code == 38 else replace(style, bg=colour)
        else:
            style = _apply_code(style, code)
    return style


def _apply_code(style: Style, code: int) -> Style:
    if code == 0:
        return _PLAIN
    if code in _ATTRIBUTES:
        return replace(style, **_ATTRIBUTES[code])
    if 30 <= code <= 37 or 90 <= code <= 97:
        return replace(style, fg=f"c{code - 30 if code < 90 else code - 82}")
    if 40 <= code <= 47 or 100 <= code <= 107:
        return replace(style, bg=f"c{code - 40 if code < 100 else code - 92}")
    return style  # not one we show


def _extended(args: list[int]) -> tuple[str | None, int]:
    """`5;n` (256 colours) or `2;r;g;b` (true colour) after 38/48: the colour and codes used."""
    if len(args) >= 2 and args[0] == 5:
        return _indexed(args[1]), 2
    if len(args) >= 4 and args[0] == 2:
        r, g, b = (min(max(v, 0), 255) for v in args[1:4])
        return f"#{r:02x}{g:02x}{b:02x}", 4
    return None, len(args)


def _indexed(n: int) -> str | None:
    if not 0 <= n <= 255:
        return None
    if n < 16:
        return f"c{n}"
    if n < 232:
        n -= 16
        r, g, b = _CUBE[n // 36], _CUBE[(n // 6) % 6], _CUBE[n % 6]
        return f"#{r:02x}{g:02x}{b:02x}"
    level = 8 + (n - 232) * 10
    return f"#{level:02x}{level:02x}{level:02x}"
