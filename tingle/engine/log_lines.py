"""Cuts a step's raw output (bytes, in arbitrary chunks) into lines of text, none longer than
LINE_LIMIT bytes of UTF-8 plus a marker saying how much of it was not kept.

The work is linear in the output: each chunk is split once on its newlines, an open line keeps at
most LINE_LIMIT bytes, and past the cut the rest of the line is only counted, never joined to
anything. (Joining each chunk to the open line, as the writer once did, made a step printing
200 MB without a newline cost minutes of a worker's CPU.) Lines are decoded whole, so a UTF-8
character split across chunks is joined first, and a cut falls before the character it would
split, never inside it. Invalid UTF-8 becomes U+FFFD.
"""

from __future__ import annotations

import codecs
from typing import NamedTuple

LINE_LIMIT = 64 * 1024  # bytes of one line that are kept; the rest, to its newline, is dropped
# Room for one character of any width: a smaller limit could cut every line to nothing.
MIN_LINE_LIMIT = 4


class Lines(NamedTuple):
    """One line, or a run of whole lines decoded at once (a chunk of short lines is split and
    decoded in C, not line by line in Python)."""

    text: str  # the lines joined by newlines, without the last one; a cut line ends with a marker
    size: int  # bytes of output they took, their newlines included
    cut: int = 0  # bytes of the (one) line not kept; 0: kept whole
    raw: bytes = b""  # a run's output, to split it line by line where a log cap falls inside

    @property
    def number(self) -> int:
        return self.text.count("\n") + 1

    def split(self) -> list[Lines]:
        """The run's lines one by one (invalid UTF-8 becomes one U+FFFD per sequence, never a
        newline, so the text's lines and the output's match)."""
        if self.number == 1:
            return [self]
        pieces = zip(self.text.split("\n"), self.raw.split(b"\n"), strict=True)
        return [Lines(text, len(raw) + 1, 0, raw) for text, raw in pieces]


def cut_marker(limit: int, dropped: int) -> str:
    return f" [tingle: line cut at {limit} bytes; {dropped} more bytes not kept]"


class LineCutter:
    def __init__(self, limit: int = LINE_LIMIT) -> None:
        if limit < MIN_LINE_LIMIT:
            raise ValueError(f"a line limit below {MIN_LINE_LIMIT} bytes cuts characters")
        self._limit = limit
        self._parts: list[bytes] = []  # the open line's bytes while it is not cut
        self._kept_size = 0  # bytes in _parts, at most `limit`
        self._taken = 0  # bytes of output the open line took so far (kept or not)
        self._cut_text: str | None = None  # the open line's kept text once it was cut
        self._cut = 0  # bytes of the open line not kept

    @property
    def open(self) -> bool:
        """Whether output since the last newline is waiting for its line to end."""
        return self._taken > 0

    def feed(self, data: bytes) -> list[Lines]:
        """The lines `data` ends; what follows its last newline stays open."""
        first, last = data.find(b"\n"), data.rfind(b"\n")
        if first == -1:
            self._extend(data)
            return []
        lines: list[Lines] = []
        start = 0
        if self.open:  # its first newline ends the open line
            self._extend(data[:first])
            lines.append(self._end(newline=1))
            start = first + 1
        if start <= last:
            lines.extend(self._whole(data[start:last]))
        self._extend(data[last + 1 :])
        return lines

    def _whole(self, run: bytes) -> list[Lines]:
        """Whole lines (`run` holds their newlines but the last): at once when none is long."""
        pieces = None if len(run) <= self._limit else run.split(b"\n")
        if pieces is None or max(map(len, pieces)) <= self._limit:
            return [Lines(run.decode("utf-8", "replace"), len(run) + 1, 0, run)]
        found: list[Lines] = []
        for piece in pieces:
            self._extend(piece)
            found.append(self._end(newline=1))
        return found

    def finish(self) -> Lines | None:
        """The open line as it is (the output ended without a newline), or None."""
        return self._end(newline=0) if self.open else None

    def abandon(self) -> int:
        """Forget the open line unseen; how many bytes of output it had taken."""
        taken = self._taken
        self._reset()
        return taken

    def _extend(self, piece: bytes) -> None:
        self._taken += len(piece)
        if self._cut_text is not None:  # past the cut: counted, not kept
            self._cut += len(piece)
            return
        room = self._limit - self._kept_size
        if len(piece) <= room:
            if piece:
                self._parts.append(piece)
                self._kept_size += len(piece)
            return
        self._parts.append(piece[:room])
        self._cut_here(len(piece) - room)

    def _cut_here(self, beyond: int) -> None:
        kept = b"".join(self._parts)
        # Not final: a character the cut would split is left out whole, counted as not kept.
        text, used = codecs.utf_8_decode(kept, "replace", False)
        self._parts, self._kept_size = [], 0
        self._cut_text = text
        self._cut = beyond + len(kept) - used

    def _end(self, *, newline: int) -> Lines:
        if self._cut_text is None:
            raw = b"".join(self._parts)
            line = Lines(raw.decode("utf-8", "replace"), self._taken + newline, 0, raw)
        else:
            text = self._cut_text + cut_marker(self._limit, self._cut)
            line = Lines(text, self._taken + newline, self._cut)
        self._reset()
        return line

    def _reset(self) -> None:
        self._parts, self._kept_size, self._taken = [], 0, 0
        self._cut_text, self._cut = None, 0
