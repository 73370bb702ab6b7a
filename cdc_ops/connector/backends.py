"""Where the connector runs, behind one interface: Kafka Connect's REST API (the local stack's
worker, or a self-managed one on AWS) or Confluent Cloud's Connect API.

The REST clients retry what the services document as transient: 409 while a Connect cluster
rebalances, 429 and 5xx, and connection errors, with exponential back-off and a cap.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import httpx

from cdc_ops.clients.rest import RestError, RestNotFound, RetryingRest
from cdc_ops.states import ABSENT_PHASE as ABSENT

RUNNING = "RUNNING"
FAILED = "FAILED"


# The REST clients' errors, under the names callers of the connector use.
ConnectorError = RestError
ConnectorNotFound = RestNotFound


class ApplyResult(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class TaskStatus:
    id: int
    state: str
    worker_id: str = ""
    trace: str = ""


@dataclass(frozen=True)
class ConnectorStatus:
    name: str
    # Kafka Connect: RUNNING, PAUSED, STOPPED, FAILED, UNASSIGNED, RESTARTING; Confluent Cloud
    # also PROVISIONING, DEGRADED, DELETED, NONE; ABSENT when there is no such connector
    state: str
    tasks: list[TaskStatus] = field(default_factory=list)
    worker_id: str = ""
    trace: str = ""

    @property
    def healthy(self) -> bool:
        return (
            self.state == RUNNING
            and bool(self.tasks)
            and all(t.state == RUNNING for t in self.tasks)
        )

    @property
    def failed_tasks(self) -> list[TaskStatus]:
        return [t for t in self.tasks if t.state == FAILED]


def status_from_rest(body: dict[str, Any]) -> ConnectorStatus:
    """Kafka Connect's GET /connectors/{name}/status (Confluent Cloud answers the same shape)."""
    connector = body.get("connector", {})
    return ConnectorStatus(
        name=body.get("name", ""),
        state=connector.get("state", "UNKNOWN"),
        tasks=[
            TaskStatus(
                int(t.get("id", 0)),
                t.get("state", "UNKNOWN"),
                t.get("worker_id", ""),
                t.get("trace") or t.get("msg") or "",
            )
            for t in body.get("tasks", [])
        ],
        worker_id=connector.get("worker_id", ""),
        trace=connector.get("trace") or connector.get("msg") or "",
    )


class ConnectorBackend(Protocol):
    kind: str
    # the state stop() leaves the connector in (Confluent Cloud has no STOPPED: a pause)
    stop_state: str
    # whether reset_offsets() needs the connector STOPPED first (Kafka Connect) or takes care
    # of that itself (Confluent Cloud's offsets request)
    reset_needs_stop: bool

    def apply(self, config: dict[str, str]) -> ApplyResult: ...
    def status(self) -> ConnectorStatus: ...
    def restart(self, include_tasks: bool = True, only_failed: bool = True) -> ConnectorStatus: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def stop(self) -> None: ...
    def offsets(self) -> list[dict[str, Any]]: ...
    def reset_offsets(self) -> None: ...
    def delete(self) -> None: ...


class _RestConnector:
    """What Kafka Connect and Confluent Cloud answer alike: status, pause, resume, offsets."""

    _base: str
    _name: str
    _rest: RetryingRest

    def status(self) -> ConnectorStatus:
        try:
            return status_from_rest(self._rest.request("GET", f"{self._base}/status").json())
        except ConnectorNotFound:
            return ConnectorStatus(self._name, ABSENT)

    def pause(self) -> None:
        self._rest.request("PUT", f"{self._base}/pause")

    def resume(self) -> None:
        self._rest.request("PUT", f"{self._base}/resume")

    def offsets(self) -> list[dict[str, Any]]:
        return self._rest.request("GET", f"{self._base}/offsets").json().get("offsets", [])

    def _current_config(self) -> dict[str, Any] | None:
        try:
            return self._rest.request("GET", f"{self._base}/config").json()
        except ConnectorNotFound:
            return None


class KafkaConnectBackend(_RestConnector):
    """Apache Kafka Connect's REST API (self-managed workers)."""

    kind = "kafka_connect"
    stop_state = "STOPPED"
    reset_needs_stop = True

    def __init__(
        self, base_url: str, name: str, http: httpx.Client | None = None, **retry: Any
    ) -> None:
        self._base = f"{base_url.rstrip('/')}/connectors/{name}"
        self._name = name
        self._rest = RetryingRest(http or httpx.Client(timeout=15), **retry)

    def apply(self, config: dict[str, str]) -> ApplyResult:
        """PUT the configuration; nothing is sent when it is already what runs."""
        desired = {k: v for k, v in config.items() if k != "name"} | {"name": self._name}
        current = self._current_config()
        if current == desired:
            return ApplyResult.UNCHANGED
        response = self._rest.request("PUT", f"{self._base}/config", json=desired)
        return ApplyResult.CREATED if response.status_code == 201 else ApplyResult.UPDATED

    def restart(self, include_tasks: bool = True, only_failed: bool = True) -> ConnectorStatus:
        params = {
            "includeTasks": str(include_tasks).lower(),
            "onlyFailed": str(only_failed).lower(),
        }
        response = self._rest.request("POST", f"{self._base}/restart", params=params)
        # 202 carries the states being restarted; 204 (connector only) carries nothing
        if response.status_code == 202 and response.content:
            return status_from_rest(response.json())
        return self.status()

    def stop(self) -> None:
        self._rest.request("PUT", f"{self._base}/stop")

    def reset_offsets(self) -> None:
        """Forget the source offsets (Connect allows it only while the connector is STOPPED;
        otherwise it answers 400, raised as a RestError with its message)."""
        self._rest.request("DELETE", f"{self._base}/offsets")

    def delete(self) -> None:
        with contextlib.suppress(ConnectorNotFound):  # already gone: the goal is met
            self._rest.request("DELETE", self._base)
