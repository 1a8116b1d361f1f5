"""Hostile YAML and huge inputs: refused with a clear error, quickly. Also the inputs the fuzzing
found to crash a parser (huge integers, impossible dates, deep nesting, huge files), now refused."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from testing.payloads import send
from tests.conftest import WEBHOOK_SECRET
from tingle.deploy import DataInfoError, parse_data_info
from tingle.pipeline import PipelineError, Problem, compile_plan, lint, load_templates
from tingle.plan import BuildFacts, EventKind
from tingle.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = load_templates(ROOT / "templates", agents_dir=ROOT / "agents")
FACTS = BuildFacts(repo="acme/widgets", sha="a" * 40, event=EventKind.PUSH, branch="main")
QUICK = 2.0  # seconds: generous for a loaded CI machine; the real costs are a few milliseconds
MB = 1_000_000


def laughs(levels: int = 9, width: int = 9) -> str:
    """The billion laughs: each anchor a list of `width` uses of the one before; 9**9 leaves."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def merge_bomb(levels: int = 12) -> str:
    """The same with merge keys: each mapping merges the one before twice."""
    lines = ["m0: &m0 {a: 1, b: 2}"]
    lines += [f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: 1}}" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


BUILD_INFO_BOMBS = {
    "steps": laughs() + "version: 2\nsteps: *l9\n",
    "a template parameter": laughs() + "version: 2\ntemplate: {type: python, python: *l9}\n",
    "commands": laughs() + "version: 2\nsteps: [{name: a, image: x, commands: *l9}]\n",
    "merge keys": merge_bomb() + "version: 2\nsteps: [{<<: *m12, name: a}]\n",
}
DATA_INFO_BOMBS = {
    "workflows": laughs() + "facts: {workflows: *l9}\n",
    "docker_args": laughs() + "facts: {workflows: [{id: a, schedule: daily, docker_args: *l9}]}\n",
    "every field": laughs()
    + "facts: {workflows: [{id: *l9, schedule: *l9, env: {A: *l9}, resources: *l9}]}\n",
    "merge keys": merge_bomb() + "facts: {workflows: [{<<: *m12, id: a, schedule: daily}]}\n",
}


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def problems_of(text: str) -> list[Problem]:
    found: list[Problem] = []

    def both() -> None:
        found.extend(lint(text, TEMPLATES))
        with pytest.raises(PipelineError):
            compile_plan(text, FACTS, TEMPLATES)

    assert timed(both) < QUICK
    return found


@pytest.mark.parametrize("where", BUILD_INFO_BOMBS)
def test_build_info_bombs_are_refused(where: str) -> None:
    messages = [p.message for p in problems_of(BUILD_INFO_BOMBS[where])]
    assert any("too many values" in m for m in messages), messages


@pytest.mark.parametrize("text", ["x: " + "a" * MB, "x: " + "é" * (MB // 2 + 1)])
def test_build_info_over_one_mb_is_refused(text: str) -> None:
    assert [p.message for p in problems_of(text)] == ["file is larger than 1 MB"]


@pytest.mark.parametrize(
    "text", ["[" * 100_000, "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 200))]
)
def test_build_info_nested_too_deep_is_refused(text: str) -> None:
    assert problems_of(text)


@pytest.mark.parametrize("where", DATA_INFO_BOMBS)
def test_data_info_bombs_are_refused(where: str) -> None:
    # PyYAML shares an anchor's value between its uses, and parse_data_info never walks into a
    # value of the wrong type, so a bomb costs nothing and ends in a problem list.
    start = time.perf_counter()
    with pytest.raises(DataInfoError) as raised:
        parse_data_info(DATA_INFO_BOMBS[where])
    assert time.perf_counter() - start < QUICK
    assert len(str(raised.value)) < 10_000


def test_webhook_body_over_25_mb_is_refused(web: str, settings: Settings) -> None:
    body = b" " * (25 * 1024 * 1024 + 1)
    start = time.perf_counter()
    response = send(web, "push", body, secret=WEBHOOK_SECRET)
    assert time.perf_counter() - start < 5 * QUICK
    assert response.status_code == 413
    assert redis.Redis.from_url(settings.redis_url).zcard("tingle:builds") == 0


# --- inputs the fuzzing found to crash a parser once: now refused with a clear error ----------

LONG_INT = "1" * 4301  # Python refuses int(str) past 4300 digits (CVE-2020-10735 mitigation)


@pytest.mark.parametrize("text", [f"version: {LONG_INT}\n", f"version: 2\nsteps: [{LONG_INT}]\n"])
def test_build_info_with_a_huge_integer_is_refused(text: str) -> None:
    assert problems_of(text)


@pytest.mark.parametrize("text", [f"x: {LONG_INT}\n", "facts: {workflows: [{id: 2020-13-45}]}\n"])
def test_data_info_with_an_impossible_scalar_is_refused(text: str) -> None:
    with pytest.raises(DataInfoError):
        parse_data_info(text)


def test_data_info_nested_too_deep_is_refused() -> None:
    with pytest.raises(DataInfoError):
        parse_data_info("[" * 500 + "]" * 500)


@pytest.fixture
def parse_in_child() -> Iterator[Callable[[str, float], str]]:
    """Runs parse_data_info in a child process that is killed after `timeout` seconds."""

    def parse(text: str, timeout: float) -> str:
        code = (
            "import sys\nfrom tingle.deploy import DataInfoError, parse_data_info\n"
            "try:\n    parse_data_info(sys.stdin.read())\n    print('parsed')\n"
            "except DataInfoError as exc:\n    print(exc)\n"
        )
        try:
            done = subprocess.run(
                [sys.executable, "-c", code], input=text, capture_output=True, text=True,
                timeout=timeout, cwd=ROOT, check=True,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return "timed out"
        return done.stdout

    yield parse


def test_data_info_over_one_mb_is_refused_quickly(
    parse_in_child: Callable[[str, float], str],
) -> None:
    workflows = "".join(f"    - id: w{i}\n      schedule: daily\n" for i in range(40_000))
    text = "facts:\n  workflows:\n" + workflows
    assert len(text) > MB
    assert "larger than" in parse_in_child(text, 3.0)


def test_child_parsing_works(parse_in_child: Callable[[str, float], str]) -> None:
    # The check above must fail for the reason it names, not because the child cannot start.
    assert "facts: required" in parse_in_child("x: 1\n", 30.0)
