"""The fake holds Styx's contract, checked over raw HTTP (so the client's tests mean something)."""

from __future__ import annotations

import httpx
import pytest

from testing.fakes.styx import FakeStyx, normalise_schedule
from tests.deploy.conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    ("schedule", "stored"),
    [
        ("hourly", "hours"), ("@daily", "days"), ("days", "days"), ("WEEKLY", "weeks"),
        ("@monthly", "months"), ("yearly", "years"), ("@annually", "years"),
        ("0 * * * *", "0 * * * *"), ("*/15 2-4 1,15 JAN-MAR MON-FRI", None),
    ],
)  # fmt: skip
def test_schedules_styx_accepts(schedule: str, stored: str | None) -> None:
    assert normalise_schedule(schedule) == (stored or schedule)


@pytest.mark.parametrize(
    "schedule",
    ["", "sometimes", "@every-day", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *",
     "* * 0 * *", "* * * 13 *", "* * * * 8", "*/0 * * * *", "a-b * * * *"],
)  # fmt: skip
def test_schedules_styx_refuses(schedule: str) -> None:
    with pytest.raises(ValueError):
        normalise_schedule(schedule)


def test_create_stores_disabled_and_errors_are_reason_phrases_with_empty_bodies(
    styx: FakeStyx,
) -> None:
    url = f"{styx.base_url}/api/v3/workflows/comp"
    with httpx.Client() as http:
        created = http.post(url, json={"id": "w", "schedule": "daily", "extra": 1}, headers=AUTH)
        assert created.status_code == 200
        assert created.json() == {
            "component_id": "comp",
            "workflow_id": "w",
            "configuration": {"id": "w", "schedule": "days"},  # unknown keys ignored
        }
        assert styx.enabled("comp", "w") is False
        bad = http.post(url, json={"id": "w", "schedule": "often"}, headers=AUTH)
        assert (bad.status_code, bad.reason_phrase, bad.content) == (
            400,
            "Invalid workflow configuration: [invalid schedule]",
            b"",
        )
        missing = http.post(url, json={"schedule": "daily"}, headers=AUTH)
        assert missing.status_code == 400 and "'id'" in missing.reason_phrase
        unauthorised = http.post(url, json={"id": "w", "schedule": "daily"})
        assert unauthorised.status_code == 401 and unauthorised.content == b""
        wrong = http.delete(f"{url}/w", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert http.get(url).status_code == 200  # GET needs no token
        state = http.patch(f"{url}/w/state", json={"enabled": True}, headers=AUTH)
        assert state.json() == {"enabled": True} and styx.enabled("comp", "w")
        assert http.delete(f"{url}/w", headers=AUTH).status_code == 204
        gone = http.delete(f"{url}/w", headers=AUTH)
        assert (gone.status_code, gone.reason_phrase) == (404, "Workflow does not exist")


def test_more_validation(styx: FakeStyx) -> None:
    url = f"{styx.base_url}/api/v3/workflows/comp"
    config = {
        "id": "w",
        "schedule": "daily",
        "offset": "tomorrow",
        "running_timeout": "PT30S",
        "service_account": "not-an-email",
    }
    with httpx.Client() as http:
        answer = http.post(url, json=config, headers=AUTH)
        assert answer.status_code == 400
        assert answer.reason_phrase.startswith("Invalid workflow configuration: [invalid offset")
        assert "running timeout is too small" in answer.reason_phrase
        assert "not a valid email address: not-an-email" in answer.reason_phrase
        config.update(
            offset="PT1H", running_timeout="PT2H", service_account="sa@p.iam.gserviceaccount.com"
        )
        ok = http.post(url, json=config, headers=AUTH)
        assert ok.json()["configuration"]["running_timeout"] == 7200  # ISO in, seconds out
