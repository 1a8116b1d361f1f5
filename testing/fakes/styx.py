"""A fake of Styx's workflow API (v3) on real HTTP, enforcing the contract in DESIGN.md section 4.

Served by the standard library's ThreadingHTTPServer on 127.0.0.1 and a free port, not by uvicorn
like testing/fakes/github: Styx puts its error messages in the HTTP reason phrase with an empty
body, and ASGI has no way to set a reason phrase (uvicorn always sends the standard one).

- `GET /api/v3/workflows/{cid}`, `GET .../{cid}/{wid}`, `GET|PATCH .../{cid}/{wid}/state`
- `POST /api/v3/workflows/{cid}`: validated like Styx (required `id` and `schedule`, schedule
  syntax, ISO-8601 offset and running_timeout, service account email); new workflows are stored
  disabled, updates keep the flag; unknown keys are dropped; schedules stored normalised ("days")
- `DELETE .../{cid}/{wid}`: 204, or 404 "Workflow does not exist"
- non-GET requests need `Authorization: Bearer <token>` (any token, or those of `accept_tokens`)
- `POST /oauth2/token`: a stand-in for Google's token endpoint, so a service-account ID token can
  be fetched for real; the tokens it issues are accepted.
Errors are a status with a reason phrase and an EMPTY body, as Styx answers them.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

API = "/api/v3/workflows"
KNOWN_KEYS = (
    "id", "schedule", "offset", "commit_sha", "docker_image", "docker_args",
    "docker_termination_logging", "service_account", "resources", "env", "running_timeout",
    "retry_condition", "deployment_source",
)  # fmt: skip
WELL_KNOWN = {
    "hours": ("@hourly", "hourly", "hours"),
    "days": ("@daily", "daily", "days"),
    "weeks": ("@weekly", "weekly", "weeks"),
    "months": ("@monthly", "monthly", "months"),
    "years": ("@yearly", "yearly", "years", "@annually", "annually"),
}
_CRON_FIELDS = ((0, 59, ()), (0, 23, ()), (1, 31, ()), (1, 12, (
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    (0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")))  # fmt: skip
_ISO_DURATION = re.compile(
    r"^P(?=\d|T\d)(?:(?P<Y>\d+)Y)?(?:(?P<Mo>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<H>\d+)H)?(?:(?P<Mi>\d+)M)?(?:(?P<S>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
_SECONDS = {
    "Y": 365 * 86400,
    "Mo": 30 * 86400,
    "W": 7 * 86400,
    "D": 86400,
    "H": 3600,
    "Mi": 60,
    "S": 1,
}
_EMAIL = re.compile(
    r"^[_A-Za-z0-9+-]+(\.[_A-Za-z0-9-]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9]+)*(\.[A-Za-z]{2,})$"
)


class Reject(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status, self.reason = status, reason


def normalise_schedule(expression: str) -> str:
    """Styx's stored form of a schedule; ValueError when it is not one Styx accepts."""
    lowered = expression.strip().lower()
    for stored, spellings in WELL_KNOWN.items():
        if lowered in spellings:
            return stored
    fields = expression.split()
    if len(fields) != 5 or not all(
        _cron_field(f, *spec) for f, spec in zip(fields, _CRON_FIELDS, strict=True)
    ):
        raise ValueError("invalid schedule")
    return expression


def _cron_field(text: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    def number(word: str) -> int | None:
        if word.upper() in names:
            return names.index(word.upper()) + (1 if low == 1 else 0)
        return int(word) if word.isdigit() and low <= int(word) <= high else None

    for item in text.split(","):
        base, _, step = item.partition("/")
        if step and not (step.isdigit() and int(step) > 0):
            return False
        if base == "*":
            continue
        bounds = [number(part) for part in base.split("-")]
        if len(bounds) > 2 or None in bounds:
            return False
    return True


def iso_seconds(duration: str) -> float:
    match = _ISO_DURATION.match(duration)
    if not match:
        raise ValueError(duration)
    return sum(float(v) * _SECONDS[k] for k, v in match.groupdict().items() if v is not None)


def validate(config: Any) -> dict[str, Any]:
    """The configuration Styx would store, or Reject with Styx's reason phrase."""
    if not isinstance(config, dict):
        raise Reject(400, "Invalid payload. Expected a WorkflowConfiguration object")
    for key in ("id", "schedule"):
        if not isinstance(config.get(key), str):
            raise Reject(400, f"Invalid payload. Missing required property '{key}'")
    stored = {key: config[key] for key in KNOWN_KEYS if key in config}
    errors = _schedule_errors(config, stored) + _run_errors(config, stored)
    if errors:
        raise Reject(400, f"Invalid workflow configuration: [{', '.join(errors)}]")
    return stored


def _schedule_errors(config: dict[str, Any], stored: dict[str, Any]) -> list[str]:
    """What is wrong with the id, schedule and offset; the schedule is stored normalised."""
    errors: list[str] = []
    if not config["id"]:
        errors.append("workflow id cannot be empty")
    try:
        stored["schedule"] = normalise_schedule(config["schedule"])
    except ValueError:
        errors.append("invalid schedule")
    if "offset" in config and not _ISO_DURATION.match(str(config["offset"])):
        errors.append(f"invalid offset: Text cannot be parsed to a Duration: {config['offset']}")
    return errors


def _run_errors(config: dict[str, Any], stored: dict[str, Any]) -> list[str]:
    """What is wrong with the running timeout (stored in seconds), service account and
    resources; Reject for a running timeout that is no duration at all."""
    errors: list[str] = []
    if "running_timeout" in config:
        try:
            stored["running_timeout"] = iso_seconds(str(config["running_timeout"]))
        except ValueError:
            raise Reject(400, "Invalid payload. running_timeout is not a duration") from None
        if stored["running_timeout"] < 60:
            errors.append("running timeout is too small")
    account = config.get("service_account")
    if account is not None and not _EMAIL.match(str(account)):
        errors.append(f"service account is not a valid email address: {account}")
    if len(config.get("resources") or ()) > 5:
        errors.append("too many resources")
    return errors


@dataclass(frozen=True)
class StyxRequest:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    json: Any
    status: int
    reason: str


class FakeStyx:
    """Use as a context manager: `with FakeStyx() as styx: ... styx.base_url ...`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    def start(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._server = self._thread = None

    def __enter__(self) -> FakeStyx:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake Styx is not running")
        return f"http://127.0.0.1:{self._server.server_port}"  # bound in start()

    # --- test controls and inspection ----------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.requests: list[StyxRequest] = []
            self._workflows: dict[tuple[str, str], dict[str, Any]] = {}
            self._enabled: dict[tuple[str, str], bool] = {}
            self._tokens: set[str] | None = None
            self._faults: list[tuple[str | None, str | None, int, str]] = []

    def accept_tokens(self, *tokens: str) -> None:
        """Answer 401 to any other bearer token (by default any token is accepted)."""
        with self._lock:
            self._tokens = set(tokens)

    def fail_next(
        self, status: int, reason: str, *, method: str | None = None, path: str | None = None
    ) -> None:
        """The next request matching `method` and `path` (a prefix) answers `status reason`."""
        with self._lock:
            self._faults.append((method, path, status, reason))

    def add_workflow(
        self, component_id: str, config: dict[str, Any], *, enabled: bool = True
    ) -> None:
        """A workflow made by someone else (a human, another tool), as Styx would store it."""
        with self._lock:
            key = (component_id, config["id"])
            self._workflows[key] = validate(config)
            self._enabled[key] = enabled

    def set_enabled(self, component_id: str, workflow_id: str, enabled: bool) -> None:
        with self._lock:
            self._enabled[(component_id, workflow_id)] = enabled

    def workflow(self, component_id: str, workflow_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._workflows.get((component_id, workflow_id))

    def enabled(self, component_id: str, workflow_id: str) -> bool:
        with self._lock:
            return self._enabled[(component_id, workflow_id)]

    def workflow_ids(self, component_id: str) -> list[str]:
        with self._lock:
            return sorted(wid for cid, wid in self._workflows if cid == component_id)

    def calls(self) -> list[str]:
        """ "METHOD path" of each API request, in order (the token endpoint left out)."""
        return [f"{r.method} {r.path}" for r in self.requests if r.path.startswith(API)]

    # --- the API ---------------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, Any]:
        with self._lock:
            for fault in self._faults:
                if fault[0] in (None, method) and (fault[1] is None or path.startswith(fault[1])):
                    self._faults.remove(fault)
                    raise Reject(fault[2], fault[3])
            if path == "/oauth2/token" and method == "POST":
                return 200, "OK", self._issue_token()
            parts = [unquote(p) for p in path.removeprefix(API).strip("/").split("/")]
            if not path.startswith(API + "/") or not parts[0] or len(parts) > 3:
                raise Reject(404, "Not Found")
            if method != "GET":
                self._authorize(headers.get("authorization", ""))
            return self._route(method, parts, body)

    def _route(self, method: str, parts: list[str], body: bytes) -> tuple[int, str, Any]:
        cid = parts[0]
        if len(parts) == 1 and method in ("GET", "POST"):
            return self._component(method, cid, body)
        key = (cid, parts[1])
        if key not in self._workflows:
            raise Reject(404, "Workflow does not exist")
        if len(parts) == 2 and method in ("GET", "DELETE"):
            return self._workflow(method, key)
        if len(parts) == 3 and parts[2] == "state" and method in ("GET", "PATCH"):
            return self._state(method, key, body)
        raise Reject(405, "Method Not Allowed")

    def _component(self, method: str, cid: str, body: bytes) -> tuple[int, str, Any]:
        """`GET|POST /api/v3/workflows/{cid}`: list the component's workflows, or store one."""
        if method == "GET":
            return 200, "OK", [self._payload(k) for k in sorted(self._workflows) if k[0] == cid]
        if not body:
            raise Reject(400, "Missing payload.")
        try:
            config = validate(json.loads(body))
        except json.JSONDecodeError:
            raise Reject(400, "Invalid payload. Not JSON") from None
        key = (cid, config["id"])
        self._workflows[key] = config
        self._enabled.setdefault(key, False)  # new workflows are stored disabled
        return 200, "OK", self._payload(key)

    def _workflow(self, method: str, key: tuple[str, str]) -> tuple[int, str, Any]:
        """`GET|DELETE /api/v3/workflows/{cid}/{wid}` of a workflow that exists."""
        if method == "GET":
            return 200, "OK", self._payload(key)
        del self._workflows[key], self._enabled[key]
        return 204, "No Content", None

    def _state(self, method: str, key: tuple[str, str], body: bytes) -> tuple[int, str, Any]:
        """`GET|PATCH /api/v3/workflows/{cid}/{wid}/state` of a workflow that exists."""
        if method == "PATCH":
            try:
                patch = json.loads(body)
            except json.JSONDecodeError:
                raise Reject(400, "Invalid payload.") from None
            if not isinstance(patch, dict) or "commit_sha" in patch or "docker_image" in patch:
                raise Reject(400, "Invalid payload: commit_sha and docker_image not allowed.")
            if "enabled" in patch:
                self._enabled[key] = bool(patch["enabled"])
        return 200, "OK", {"enabled": self._enabled[key]}

    def _payload(self, key: tuple[str, str]) -> dict[str, Any]:
        return {
            "component_id": key[0],
            "workflow_id": key[1],
            "configuration": self._workflows[key],
        }

    def _authorize(self, header: str) -> None:
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token:
            raise Reject(401, "Unauthorized")
        if self._tokens is not None and token not in self._tokens:
            raise Reject(401, "Unauthorized: invalid token")

    def _issue_token(self) -> dict[str, str]:
        """A JWT-shaped ID token (unsigned: google-auth reads its expiry without verifying)."""

        def part(value: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

        now = int(time.time())
        claims = {"aud": "styx", "iat": now, "exp": now + 3600, "n": len(self.requests)}
        token = f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2ln"
        if self._tokens is not None:
            self._tokens.add(token)
        return {"id_token": token}

    def record(self, request: StyxRequest) -> None:
        with self._lock:
            self.requests.append(request)


def _handler_for(fake: FakeStyx) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                status, reason, payload = fake.handle(self.command, self.path, headers, body)
            except Reject as exc:
                status, reason, payload = exc.status, exc.reason, None
            data = b"" if payload is None else json.dumps(payload).encode()
            try:
                decoded = json.loads(body) if body else None
            except ValueError:
                decoded = None
            fake.record(StyxRequest(self.command, self.path, headers, decoded, status, reason))
            self.send_response(status, reason)  # Styx's message lives in the reason phrase
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

    return Handler
