"""The masker on the edge cases that leak secrets in real CI systems."""

from __future__ import annotations

import random

import pytest

from tingle.secrets import Masker, MaskingWriter

PEM = (
    b"-----BEGIN PRIVATE KEY-----\n"
    b"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
    b"VJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDu\n"
    b"-----END PRIVATE KEY-----\n"
)


class Collector:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    async def write(self, data: bytes) -> None:
        self.chunks.append(data)

    @property
    def text(self) -> bytes:
        return b"".join(self.chunks)


async def stream(masker: Masker, chunks: list[bytes]) -> bytes:
    sink = Collector()
    writer = MaskingWriter(masker, sink.write)
    for chunk in chunks:
        await writer.write(chunk)
    await writer.flush()
    return sink.text


def split_everywhere(data: bytes) -> list[list[bytes]]:
    """`data` cut into two chunks at every position, plus byte-by-byte."""
    cuts = [[data[:i], data[i:]] for i in range(len(data) + 1)]
    return [*cuts, [bytes([b]) for b in data]]


def test_a_value_is_replaced_wherever_it_appears() -> None:
    masker = Masker(["hunter2!"])
    assert masker.mask(b"password=hunter2! and again hunter2!") == b"password=*** and again ***"
    assert masker.mask_text("token hunter2!") == "token ***"


@pytest.mark.parametrize("chunks", split_everywhere(b"before s3cr3t-value after\n"))
async def test_a_value_split_across_chunks_at_any_byte_is_masked(chunks: list[bytes]) -> None:
    assert await stream(Masker([b"s3cr3t-value"]), chunks) == b"before *** after\n"


async def test_a_multi_line_value_printed_whole_becomes_one_mask() -> None:
    out = await stream(Masker([PEM]), [b"key:\n" + PEM + b"done\n"])
    assert out == b"key:\n***\ndone\n"


async def test_each_line_of_a_multi_line_value_is_masked_on_its_own() -> None:
    lines = PEM.splitlines()
    out = await stream(Masker([PEM]), [b"line 2 is " + lines[1] + b"\n", lines[2][:10]])
    assert out == b"line 2 is ***\n" + lines[2][:10]  # a fragment shorter than a line is not known
    out = await stream(Masker([PEM]), [b"echo " + lines[2] + b" | base64 -d\n"])
    assert out == b"echo *** | base64 -d\n"


@pytest.mark.parametrize("seed", range(20))
async def test_a_multi_line_value_cut_in_random_chunks_leaks_nothing(seed: int) -> None:
    data = b"start\n" + PEM + b"middle " + PEM.replace(b"\n", b"\r\n") + b"end\n"
    rng = random.Random(seed)
    chunks, i = [], 0
    while i < len(data):
        step = rng.randint(1, 40)
        chunks.append(data[i : i + step])
        i += step
    out = await stream(Masker([PEM]), chunks)
    for line in PEM.splitlines():
        assert line not in out
    assert out.startswith(b"start\n") and out.endswith(b"end\n")


async def test_a_value_in_json_with_escaped_newlines_is_masked() -> None:
    escaped = PEM.strip().replace(b"\n", b"\\n")
    out = await stream(Masker([PEM]), [b'{"private_key": "' + escaped + b'"}\n'])
    assert out == b'{"private_key": "***"}\n'


async def test_trailing_newline_of_a_secret_file_does_not_matter() -> None:
    out = await stream(Masker([b"abcdef1234\n"]), [b"abcdef1234 printed\n"])
    assert out == b"*** printed\n"


async def test_short_values_are_not_masked_by_substring() -> None:
    masker = Masker([b"abc", b"12", b"x\ny\n"])
    assert not masker  # nothing of 4 characters or more: nothing to mask
    assert await stream(masker, [b"abc 12 x y\n"]) == b"abc 12 x y\n"


async def test_short_lines_of_a_long_value_are_masked_only_as_part_of_the_whole() -> None:
    masker = Masker([b"ab\ncd\nef"])  # every line short, the whole value is 8 bytes
    assert await stream(masker, [b"ab\n", b"cd\n", b"ef!\n"]) == b"***!\n"
    assert await stream(masker, [b"ab\ncd\n"]) == b"ab\ncd\n"


async def test_multi_byte_characters_split_across_chunks_pass_through_unchanged() -> None:
    data = "é€ secret: pässwörd-ü €\n".encode()
    for chunks in split_everywhere(data):
        assert await stream(Masker(["pässwörd-ü"]), chunks) == "é€ secret: *** €\n".encode()


async def test_overlapping_and_repeated_values() -> None:
    masker = Masker([b"aaaa", b"secret-one", b"one-two-three"])
    out = await stream(masker, [b"aaaaaaaa secret-one-two-three\n"])
    assert b"secret" not in out and b"aaaa" not in out


async def test_output_without_any_secret_prefix_is_passed_on_at_once() -> None:
    sink = Collector()
    writer = MaskingWriter(Masker([b"zebra-secret"]), sink.write)
    await writer.write(b"hello world\nno secret here")
    assert sink.text == b"hello world\nno secret here"
    await writer.write(b" ze")  # "ze" could be the start of the secret: held back
    assert sink.text == b"hello world\nno secret here "
    await writer.write(b"bra crossing\n")  # it was not
    assert sink.text == b"hello world\nno secret here zebra crossing\n"


async def test_flush_passes_on_a_held_tail() -> None:
    sink = Collector()
    writer = MaskingWriter(Masker([b"zebra-secret"]), sink.write)
    await writer.write(b"last words: zebra-sec")
    await writer.flush()
    await writer.flush()  # twice is harmless
    assert sink.text == b"last words: zebra-sec"


async def test_without_secrets_the_writer_is_a_pass_through() -> None:
    sink = Collector()
    writer = Masker().writer(sink.write)
    await writer.write(b"a")
    await writer.write_line("b")
    assert sink.chunks == [b"a", b"b\n"]


async def test_secrets_added_later_are_masked_from_then_on() -> None:
    masker = Masker()
    masker.add("late-secret")
    assert masker.mask(b"x late-secret") == b"x ***"
