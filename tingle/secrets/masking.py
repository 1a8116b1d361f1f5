"""Redacts secret values from log output before it is stored or shown.

`MaskingWriter` wraps a `write(bytes)` callable, the executor's `OutputHandler` shape, and sits in
front of `StepLogWriter.write`. It works on bytes, not lines, so a secret split across chunks at any
byte (mid-line, mid-UTF-8 character, across a newline) is still found: it holds back only the tail
that could be the start of a secret, and passes everything else on at once. The writer behind it
assembles lines as before.

What is masked, each replaced by `***`:
- the whole value, whitespace-trimmed (also with CRLF line ends and with `\\n` escaped as in JSON);
- each line of a multi-line value, trimmed, so a private key printed line by line is masked too.
Values (and lines) shorter than MIN_LENGTH characters are NOT masked by substring: masking "a" or
"123" everywhere would destroy the log and reveal the secret by its gaps anyway.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable

MASK = b"***"
MIN_LENGTH = 4

Write = Callable[[bytes], Awaitable[None]]


def patterns_for(secret: bytes) -> set[bytes]:
    """The byte strings that reveal `secret` when they appear in a log."""
    value = secret.replace(b"\r\n", b"\n").strip()
    found = {line.strip() for line in value.split(b"\n")}
    if b"\n" in value and len(value) >= MIN_LENGTH:
        found |= {value, value.replace(b"\n", b"\r\n"), value.replace(b"\n", b"\\n")}
    else:
        found.add(value)
    return {p for p in found if len(p) >= MIN_LENGTH}


class Masker:
    def __init__(self, secrets: Iterable[bytes | str] = ()) -> None:
        self._patterns: set[bytes] = set()
        self._regex: re.Pattern[bytes] | None = None
        for secret in secrets:
            self.add(secret)

    def add(self, secret: bytes | str) -> None:
        raw = secret.encode() if isinstance(secret, str) else secret
        new = patterns_for(raw) - self._patterns
        if new:
            self._patterns |= new
            # Longest first: at a given position the whole value wins over one of its lines.
            ordered = sorted(self._patterns, key=len, reverse=True)
            self._regex = re.compile(b"|".join(re.escape(p) for p in ordered))

    def __bool__(self) -> bool:
        return self._regex is not None

    def mask(self, data: bytes) -> bytes:
        return data if self._regex is None else self._regex.sub(MASK, data)

    def mask_text(self, text: str) -> str:
        """For Tingle's own strings (step errors, status descriptions) before they are stored."""
        if self._regex is None:
            return text
        return self.mask(text.encode()).decode(errors="replace")

    def safe_length(self, data: bytes) -> int:
        """How much of `data` can be masked and passed on now: everything before the first place
        where a secret might begin but is not complete yet, and never half of a complete one."""
        if self._regex is None:
            return len(data)
        cut = len(data)
        for pattern in self._patterns:
            start = data.find(pattern[:1], max(0, len(data) - len(pattern) + 1))
            while start != -1 and start < cut:
                if pattern.startswith(data[start:]):
                    cut = start
                    break
                start = data.find(pattern[:1], start + 1)
        # Matches do not overlap, so at most one can straddle the cut.
        for match in self._regex.finditer(data):
            if match.start() < cut < match.end():
                cut = match.start()
        return cut

    def writer(self, write: Write) -> MaskingWriter:
        return MaskingWriter(self, write)


class MaskingWriter:
    """`write(bytes)` in front of another `write(bytes)`. Call `flush()` when the output ends, so
    the held-back tail is passed on (masked) before the writer behind it closes."""

    def __init__(self, masker: Masker, write: Write) -> None:
        self._masker = masker
        self._write = write
        self._held = b""

    async def write(self, data: bytes) -> None:
        if not self._masker:
            await self._write(data)
            return
        buffer = self._held + data
        cut = self._masker.safe_length(buffer)
        self._held = buffer[cut:]
        if cut:
            await self._write(self._masker.mask(buffer[:cut]))

    async def write_line(self, line: str) -> None:
        await self.write((line + "\n").encode())

    async def flush(self) -> None:
        held, self._held = self._held, b""
        if held:
            await self._write(self._masker.mask(held))
