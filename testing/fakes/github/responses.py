"""GitHub's answers: its error shapes (a `message`, a `documentation_url`, for 422 the `errors`)
and its timestamps (ISO 8601, whole seconds, UTC)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from starlette.responses import JSONResponse, Response

DOCS = "https://docs.github.com/rest"


def now() -> str:
    return iso(time.time())


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def error(status: int, message: str, errors: list[dict[str, str]] | None = None) -> Response:
    body: dict[str, Any] = {"message": message, "documentation_url": DOCS}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status)


def invalid(resource: str, field: str, code: str, message: str) -> Response:
    detail = {"resource": resource, "field": field, "code": code, "message": message}
    return error(422, "Validation Failed", [detail])
