"""data-info.yaml through parse_data_info: random documents and mutated real files never make it
raise anything but DataInfoError (the inputs found to crash it are in test_yaml_limits.py)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.deploy.test_datainfo import FULL
from tests.fuzz.conftest import Tally
from tests.fuzz.yamldocs import any_document, shallow
from tingle.deploy import DataInfoError, parse_data_info
from tingle.deploy.workflow import WORKFLOW_KEYS

ROOT = Path(__file__).resolve().parents[2]
PROFILE = settings.get_profile("fuzz-compiler")
EXAMPLES = [FULL, (ROOT / "tests" / "samples" / "data-pipeline" / "data-info.yaml").read_text()]
GOOD = {
    "id": ["daily-report", "a.b_c-1", "-bad", "x" * 300],
    "schedule": ["daily", "hourly", "@daily", "0 * * * *", "every tuesday"],
    "offset": ["PT2H", "P1D", "2h"],
    "service_account": ["a@b.iam.gserviceaccount.com", "nobody"],
    "running_timeout": ["PT1H", "P", "10m"],
    "retry_condition": ["#tries < 3"],
}
WORDS = sorted(
    {*WORKFLOW_KEYS, "facts", "workflows", "MODE", *(v for g in GOOD.values() for v in g)}
)
value = shallow(WORDS)
workflow = st.dictionaries(
    st.sampled_from(WORKFLOW_KEYS),
    st.one_of(value, st.sampled_from([v for g in GOOD.values() for v in g])),
    max_size=6,
)
skeleton = st.fixed_dictionaries(
    {
        "facts": st.fixed_dictionaries(
            {"workflows": st.lists(st.one_of(workflow, value), max_size=4)}
        )
    },
    optional={"owner": value},
)


@PROFILE
@given(text=any_document(WORDS, skeleton, EXAMPLES))
def test_data_info_parses_or_says_why(text: str, tally: Tally) -> None:
    tally("data-info.yaml: parse_data_info")
    try:
        info = parse_data_info(text)
    except DataInfoError as exc:
        assert exc.problems and str(exc)
        return
    assert len(set(info.ids())) == len(info.ids())
    tally("data-info.yaml: of which parsed")
