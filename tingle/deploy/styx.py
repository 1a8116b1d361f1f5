"""Styx's workflow API (v3) over httpx, behind the Scheduler contract (DESIGN.md section 4).

    GET    /api/v3/workflows/{cid}                 list a component's workflows
    POST   /api/v3/workflows/{cid}                 create or update (a WorkflowConfiguration)
    PATCH  /api/v3/workflows/{cid}/{wid}/state     {"enabled": true}: only for new workflows
    DELETE /api/v3/workflows/{cid}/{wid}           204, or 404 when it does not exist

Styx answers errors with the HTTP reason phrase and an empty body ("400 Invalid workflow
configuration: [invalid schedule]"), so the reason phrase is the message we surface.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from tingle.deploy.scheduler import TINGLE_SOURCE, ScheduledWorkflow, SchedulerError
from tingle.deploy.tokens import TokenSource
from tingle.deploy.workflow import Release, Workflow

API = "/api/v3/workflows"
_OPTIONAL = (
    "offset", "service_account", "docker_termination_logging", "running_timeout", "retry_condition",
)  # fmt: skip


def workflow_configuration(workflow: Workflow, release: Release) -> dict[str, Any]:
    """Styx's WorkflowConfiguration JSON for `workflow`, pinned to `release`."""
    config: dict[str, Any] = {"id": workflow.id, "schedule": workflow.schedule}
    for key in _OPTIONAL:
        value = getattr(workflow, key)
        if value is not None:
            config[key] = value
    if workflow.docker_args is not None:
        config["docker_args"] = list(workflow.docker_args)
    if workflow.env:
        config["env"] = dict(workflow.env)
    if workflow.resources:
        config["resources"] = list(workflow.resources)
    config["docker_image"] = release.image
    config["commit_sha"] = release.commit_sha
    config["deployment_source"] = {"repository": release.repository, "source": TINGLE_SOURCE}
    return config


class StyxClient:
    name = "styx"

    def __init__(
        self,
        api_url: str,
        tokens: TokenSource,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._tokens = tokens
        self._http = httpx.AsyncClient(
            base_url=self.api_url, timeout=timeout, transport=transport, follow_redirects=False
        )

    async def __aenter__(self) -> StyxClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def list_workflows(self, component_id: str) -> list[ScheduledWorkflow]:
        response = await self._request("GET", _path(component_id))
        try:
            items = response.json()
            return [_scheduled(item) for item in items]
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise SchedulerError(f"Styx: unexpected answer listing workflows: {exc}") from exc

    async def put_workflow(self, component_id: str, workflow: Workflow, release: Release) -> None:
        config = workflow_configuration(workflow, release)
        await self._request("POST", _path(component_id), json=config)

    async def enable_workflow(self, component_id: str, workflow_id: str) -> None:
        path = _path(component_id, workflow_id, "state")
        await self._request("PATCH", path, json={"enabled": True})

    async def delete_workflow(self, component_id: str, workflow_id: str) -> bool:
        try:
            await self._request("DELETE", _path(component_id, workflow_id))
        except SchedulerError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def _request(self, method: str, path: str, json: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self._tokens.token()}"}
        try:
            response = await self._http.request(method, path, json=json, headers=headers)
        except httpx.HTTPError as exc:
            detail = str(exc) or type(exc).__name__
            raise SchedulerError(f"Styx: {method} {self.api_url}{path} failed: {detail}") from exc
        if response.is_error:
            raise SchedulerError(_error_message(response), status=response.status_code)
        return response


def _path(component_id: str, *rest: str) -> str:
    return "/".join([API, *(quote(part, safe="") for part in (component_id, *rest))])


def _error_message(response: httpx.Response) -> str:
    message = f"Styx: {response.status_code} {response.reason_phrase}".rstrip()
    body = response.text.strip()
    if body:  # Styx leaves it empty; a proxy in front of it may not
        message += f": {body[:300]}"
    return message


def _scheduled(item: dict[str, Any]) -> ScheduledWorkflow:
    config = item.get("configuration") or {}
    source = config.get("deployment_source") or {}
    return ScheduledWorkflow(
        id=str(item.get("workflow_id") or config["id"]),
        source=source.get("source"),
        repository=source.get("repository"),
    )
