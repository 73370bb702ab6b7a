"""Confluent Cloud's Flink statements API (sql/v1), with a Flink API key for the region.

Replacing a running statement must not lose its position: the new statement is created with
`sql.tables.initial-offset-from` naming the old one, and the old one is stopped only once the new
one runs (flink/cloud_deploy.py). Only stateless statements (our filters) may be replaced so.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import httpx

from cdc_ops.clients.rest import RestNotFound, RetryingRest
from cdc_ops.flink.statements import (
    ABSENT,
    RUNNING,
    TERMINAL_FAILURE,
    StatementError,
    StatementState,
)


class ConfluentCloudStatements:
    """sql/v1 on Confluent Cloud, with a Flink API key for the region."""

    kind = "confluent_cloud"

    def __init__(
        self,
        base_url: str,
        organization: str,
        environment: str,
        compute_pool: str,
        principal: str,
        catalog: str,
        database: str,
        api_key: str,
        api_secret: str,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **retry: Any,
    ) -> None:
        self._base = (
            f"{base_url.rstrip('/')}/sql/v1/organizations/{organization}"
            f"/environments/{environment}/statements"
        )
        self._organization, self._environment = organization, environment
        self._pool, self._principal = compute_pool, principal
        self._catalog, self._database = catalog, database
        self._sleep = sleep
        self._rest = RetryingRest(
            http or httpx.Client(timeout=30, auth=httpx.BasicAuth(api_key, api_secret)),
            sleep=sleep,
            **retry,
        )

    def _state(self, body: dict[str, Any]) -> StatementState:
        status = body.get("status", {})
        return StatementState(
            name=body.get("name", ""),
            phase=status.get("phase", "UNKNOWN"),
            detail=status.get("detail", ""),
            sql=body.get("spec", {}).get("statement", ""),
            offsets=status.get("latest_offsets") or {},
        )

    def status(self, name: str) -> StatementState:
        try:
            return self._state(self._rest.request("GET", f"{self._base}/{name}").json())
        except RestNotFound:
            return StatementState(name, ABSENT)

    def list(self) -> list[StatementState]:
        """Every statement of the environment (all pages)."""
        states: list[StatementState] = []
        url: str | None = f"{self._base}?page_size=100"
        while url:
            page = self._rest.request("GET", url).json()
            states += [self._state(item) for item in page.get("data", [])]
            url = (page.get("metadata") or {}).get("next") or None
        return states

    def create(self, name: str, sql: str, offsets_from: str | None = None) -> StatementState:
        properties = {"sql.current-catalog": self._catalog, "sql.current-database": self._database}
        if offsets_from:
            # start where the statement being replaced stopped reading
            properties["sql.tables.initial-offset-from"] = offsets_from
        body = {
            "name": name,
            "organization_id": self._organization,
            "environment_id": self._environment,
            "spec": {
                "statement": sql,
                "compute_pool_id": self._pool,
                "principal": self._principal,
                "properties": properties,
                "stopped": False,
            },
        }
        return self._state(self._rest.request("POST", self._base, json=body).json())

    def stop(self, name: str) -> StatementState:
        """updateSqlv1Statement: PUT the statement back with spec.stopped; it answers 202 with
        no body, so what it is doing is read afterwards."""
        current = self._rest.request("GET", f"{self._base}/{name}").json()
        # the PUT carries metadata.resource_version, so a concurrent change is refused (409)
        self._rest.request("PUT", f"{self._base}/{name}", json=stop_request(current))
        return self.status(name)

    def delete(self, name: str) -> None:
        with contextlib.suppress(RestNotFound):
            self._rest.request("DELETE", f"{self._base}/{name}")

    def wait_running(self, name: str, timeout_s: float = 300, poll_s: float = 2) -> StatementState:
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.status(name)
            if state.phase == RUNNING:
                return state
            if state.phase in TERMINAL_FAILURE or state.phase in ("COMPLETED", "STOPPED"):
                raise StatementError(f"statement {name} is {state.phase}: {state.detail}")
            if time.monotonic() > deadline:
                raise StatementError(
                    f"statement {name} not RUNNING after {timeout_s:.0f}s ({state.phase})"
                )
            self._sleep(poll_s)


# What the statements API marks readOnly (sql.v1.Statement, StatementObjectMeta,
# sql.v1.StatementSpec): never sent back in an update.
_READ_ONLY = ("api_version", "kind", "status", "result")
_READ_ONLY_METADATA = ("self", "created_at", "updated_at", "uid")
_READ_ONLY_SPEC = ("execution_mode",)


def stop_request(current: dict[str, Any]) -> dict[str, Any]:
    """The update body that stops a statement, from what GET answered (pure): the required
    name, metadata.resource_version and spec.stopped, without the read-only fields."""
    body = {k: v for k, v in current.items() if k not in _READ_ONLY}
    metadata = current.get("metadata") or {}
    body["metadata"] = {k: v for k, v in metadata.items() if k not in _READ_ONLY_METADATA}
    spec = current.get("spec") or {}
    body["spec"] = {k: v for k, v in spec.items() if k not in _READ_ONLY_SPEC} | {"stopped": True}
    return body
