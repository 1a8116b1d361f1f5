from __future__ import annotations

import hashlib
import hmac

import pytest

from tingle.forge.signature import sign, verify_signature

SECRET = b"It's a Secret to Everybody"
BODY = b"Hello, World!"


def test_sign_matches_githubs_documented_example() -> None:
    # The example from GitHub's "Validating webhook deliveries" documentation.
    assert sign(SECRET, BODY) == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


def test_sign_is_the_hex_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"zen": "Keep it logically awesome."}'
    assert (
        sign(b"s3cret", body) == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    )


def test_valid_signature_verifies() -> None:
    assert verify_signature(SECRET, BODY, sign(SECRET, BODY))


def test_upper_case_hex_is_the_same_digest() -> None:
    header = sign(SECRET, BODY)
    assert verify_signature(SECRET, BODY, "sha256=" + header.removeprefix("sha256=").upper())


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=" + "0" * 40,  # the legacy X-Hub-Signature format is not accepted here
        sign(SECRET, BODY).removeprefix("sha256="),  # no prefix
        sign(SECRET, BODY)[:-1],  # one digit short
        sign(SECRET, BODY) + "0",  # one digit too many
        sign(SECRET, BODY)[:-1] + "g",  # not hex
        sign(SECRET, BODY)[:-1] + "é",  # not ASCII: compare_digest would raise on str
        " " + sign(SECRET, BODY),
    ],
)
def test_missing_or_malformed_header_is_rejected(header: str | None) -> None:
    assert not verify_signature(SECRET, BODY, header)


def test_signature_of_another_body_is_rejected() -> None:
    assert not verify_signature(SECRET, BODY + b" ", sign(SECRET, BODY))


def test_signature_under_another_secret_is_rejected() -> None:
    assert not verify_signature(SECRET, BODY, sign(b"other", BODY))


def test_empty_secret_never_verifies() -> None:
    # Even a "correct" HMAC under the empty key: anybody can compute that one.
    assert not verify_signature(b"", BODY, sign(b"", BODY))
