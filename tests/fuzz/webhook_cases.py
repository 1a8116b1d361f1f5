"""Webhook requests for the fuzz test: arbitrary ones (any body, content type, signature, event,
delivery id and a few extra headers), and plausible ones (a real payload a few fields off, signed
with the secret or nearly), so the accepting path and its de-duplication are fuzzed too."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from testing.payloads import pull_request_payload, push_payload
from tests.conftest import WEBHOOK_SECRET
from tingle.forge.events import BuildTrigger, MalformedPayload, decode_payload, parse_event

SHA = "c0ffee" + "0" * 34
BASES = [
    push_payload("octo/app", SHA),
    pull_request_payload("octo/app", SHA),
    pull_request_payload("octo/app", SHA, action="synchronize", head="fork/app"),
]
# Header values as the wire allows them: visible Latin-1, spaces inside.
header_text = st.text(
    st.characters(codec="latin-1", categories=["L", "M", "N", "P", "S", "Zs"]), max_size=60
).map(str.strip)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@st.composite
def mutated_payload(draw: st.DrawFn) -> dict[str, Any]:
    """A real payload with a few values replaced or removed, anywhere in its tree."""
    payload: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(0, 3))):
        slots: list[tuple[Any, Any]] = []
        stack: list[Any] = [payload]
        while stack:
            node = stack.pop()
            keys = node.keys() if isinstance(node, dict) else range(len(node))
            for key in keys:
                slots.append((node, key))
                if isinstance(node[key], dict | list):
                    stack.append(node[key])
        node, key = draw(st.sampled_from(slots))
        if isinstance(node, dict) and draw(st.booleans()):
            del node[key]
        else:
            node[key] = draw(json_values)
    return payload


def _form(body: bytes) -> bytes:
    return urllib.parse.urlencode({"payload": body.decode("utf-8", "replace")}).encode()


bodies = st.one_of(
    st.binary(max_size=3000),
    json_values.map(lambda v: json.dumps(v).encode()),
    mutated_payload().map(lambda p: json.dumps(p).encode()),
    mutated_payload().map(lambda p: _form(json.dumps(p).encode())),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
content_types = st.one_of(
    st.sampled_from(
        [
            None,
            "application/json",
            "application/json; charset=utf-8",
            "APPLICATION/JSON",
            "application/x-www-form-urlencoded",
            "text/plain",
            "multipart/form-data; boundary=x",
            "",
        ]
    ),
    header_text,
)
events = st.one_of(
    st.sampled_from([None, "push", "pull_request", "ping", "issues", "", "PUSH"]), header_text
)
delivery_ids = st.one_of(
    st.none(),
    st.uuids().map(str),
    header_text,
    st.integers(100, 8000).map(lambda n: "d" * n),  # up to far past the 128 characters allowed
    st.sampled_from(["", "*", "..", "a:b:c", "../../etc", "%00", "delivery\ttab"]),
)
SIGNING = ["valid", "upper-case", "wrong-secret", "truncated", "sha1", "missing", "garbage"]


@dataclass(frozen=True)
class Case:
    body: bytes
    content_type: str | None
    event: str | None
    delivery: str | None
    signing: str
    garbage: str
    extra: dict[str, str]

    def headers(self) -> dict[bytes, bytes]:
        digest = hmac.new(WEBHOOK_SECRET.encode(), self.body, hashlib.sha256).hexdigest()
        wrong = hmac.new(b"not-the-secret", self.body, hashlib.sha256).hexdigest()
        signature = {
            "valid": f"sha256={digest}",
            "upper-case": f"sha256={digest.upper()}",
            "wrong-secret": f"sha256={wrong}",
            "truncated": f"sha256={digest[:-2]}",
            "sha1": f"sha1={digest[:40]}",
            "missing": None,
            "garbage": self.garbage,
        }[self.signing]
        named = {
            "content-type": self.content_type,
            "x-github-event": self.event,
            "x-github-delivery": self.delivery,
            "x-hub-signature-256": signature,
        }
        headers = {k.encode(): v.encode("latin-1") for k, v in self.extra.items()}
        headers |= {k.encode(): v.encode("latin-1") for k, v in named.items() if v is not None}
        return headers

    @property
    def signed(self) -> bool:
        return self.signing in ("valid", "upper-case")

    def builds(self) -> bool:
        """Whether Tingle should build this: signed, and a push or pull request it can use."""
        return self.trigger() is not None

    def trigger(self) -> BuildTrigger | None:
        """The build this case asks for, if Tingle should build it."""
        if not (self.signed and self.event and self.delivery) or len(self.delivery) > 128:
            return None
        try:
            outcome = parse_event(self.event, decode_payload(self.content_type, self.body))
        except MalformedPayload:
            return None
        return outcome if isinstance(outcome, BuildTrigger) else None


arbitrary_cases = st.builds(
    Case,
    body=bodies,
    content_type=content_types,
    event=events,
    delivery=delivery_ids,
    signing=st.sampled_from(SIGNING),
    garbage=header_text,
    extra=st.dictionaries(
        st.sampled_from(["x-github-hook-id", "user-agent", "content-encoding", "x-forwarded-for"]),
        header_text,
        max_size=2,
    ),
)


@st.composite
def plausible_cases(draw: st.DrawFn) -> Case:
    """What GitHub (or someone who knows the secret) would send, a few fields off at most:
    most of these build, so the fuzz also covers the accepting path and its de-duplication."""
    payload = draw(mutated_payload())
    body = json.dumps(payload).encode()
    form = draw(st.booleans())
    return Case(
        body=_form(body) if form else body,
        content_type="application/x-www-form-urlencoded" if form else "application/json",
        event="pull_request" if "pull_request" in payload else "push",
        delivery=draw(st.one_of(st.uuids().map(str), st.sampled_from(["dup-1", "dup-2"]))),
        signing=draw(st.sampled_from(["valid", "valid", "upper-case", "wrong-secret"])),
        garbage="",
        extra={},
    )


cases = st.one_of(arbitrary_cases, plausible_cases())
