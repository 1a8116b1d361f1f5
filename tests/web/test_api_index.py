"""`GET /api`: every API route of the app listed (and nothing that is not one), with the header
that authenticates; readable even when reading is protected, as it says how to get in."""

from __future__ import annotations

import httpx
import pytest
from starlette.routing import Route

from tingle.settings import Settings
from tingle.web.app import create_app


def app_api_routes(settings: Settings) -> set[tuple[str, str]]:
    routes = set()
    for route in create_app(settings).routes:
        if isinstance(route, Route) and route.path.startswith("/api"):
            path = route.path.replace("{step:int}", "{step}")
            routes |= {(method, path) for method in route.methods or () if method != "HEAD"}
    return routes


def test_every_api_route_is_listed_once_and_nothing_else(web: str, settings: Settings) -> None:
    answer = httpx.get(f"{web}/api", timeout=10).json()
    listed = [(e["method"], e["path"]) for e in answer["endpoints"]]
    assert len(listed) == len(set(listed))
    assert set(listed) == app_api_routes(settings)
    assert all(e["description"] for e in answer["endpoints"])
    admin = {e["path"].rsplit("/", 1)[-1] for e in answer["endpoints"] if e["admin"]}
    assert admin == {"cancel", "restart", "approve"}


def test_it_names_the_header_the_actions_accept(
    web: str, admin_token: str, settings: Settings
) -> None:
    auth = httpx.get(f"{web}/api", timeout=10).json()["authentication"]
    assert auth["header"] == "Authorization: Bearer <TINGLE_ADMIN_TOKEN>"
    assert auth["reading"] == "public" and auth["actions_enabled"] is True
    name, _, value = auth["header"].partition(": ")
    header = {name: value.replace("<TINGLE_ADMIN_TOKEN>", admin_token)}
    cancel = httpx.post(f"{web}/api/builds/404/cancel", headers=header, timeout=10)
    assert cancel.status_code == 404  # let in: the build is what is missing
    assert httpx.post(f"{web}/api/builds/404/cancel", timeout=10).status_code == 401


@pytest.mark.protected
def test_it_is_readable_when_reading_is_protected(web: str, admin_token: str) -> None:
    answer = httpx.get(f"{web}/api", timeout=10)
    assert answer.status_code == 200
    assert "TINGLE_PUBLIC_READ is false" in answer.json()["authentication"]["reading"]
    assert httpx.get(f"{web}/api/feed", timeout=10).status_code == 401  # the rest is not


def test_without_an_admin_token_it_says_actions_are_off(settings: Settings, web: str) -> None:
    assert settings.admin_token == ""  # this test asks for no `admin_token`
    assert httpx.get(f"{web}/api", timeout=10).json()["authentication"]["actions_enabled"] is False
