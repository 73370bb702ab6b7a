"""Confluent Cloud's managed connector through its Connect API (connect/v1), authenticated with a
Cloud API key.

Every request follows Confluent's OpenAPI document of connect/v1 (confluentinc/ccloud-sdk-go-v2,
connect/v1/api/openapi.yaml); the operation ids below are that document's. Its Lifecycle tag
offers "Pause and Resume" only: restart and stop are built from those two. Its Offsets
operations are marked Preview.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from cdc_ops.clients.rest import RetryingRest
from cdc_ops.connector.backends import (
    ABSENT,
    FAILED,
    ApplyResult,
    ConnectorError,
    ConnectorNotFound,
    ConnectorStatus,
    TaskStatus,
    _RestConnector,
)
from cdc_ops.connector.config import SECRET_KEYS

PAUSED = "PAUSED"

# Keys every getConnectv1ConnectorConfig answer must carry that the createOrUpdate request's
# schema does not list: the service derives them from the cluster, so they are never sent and
# never compared.
SERVICE_KEYS = frozenset({"cloud.environment", "cloud.provider", "kafka.endpoint", "kafka.region"})

# Confluent's task states for a failed task ("Interpret Connector Statuses for Confluent Cloud");
# Kafka Connect says FAILED, which is what ConnectorStatus.failed_tasks looks for.
_TASK_ERRORS = frozenset({"SYSTEM_ERROR", "USER_ACTIONABLE_ERROR"})

M = TypeVar("M", bound=BaseModel)


class _ConnectorState(BaseModel):
    state: str
    worker_id: str = ""
    trace: str | None = None


class _TaskState(BaseModel):
    id: int
    state: str
    worker_id: str = ""
    msg: str | None = None


class _Status(BaseModel):
    """readConnectv1ConnectorStatus's answer (inline_response_200_1)."""

    name: str
    connector: _ConnectorState
    tasks: list[_TaskState] = []
    type: str = ""


class _PartitionOffset(BaseModel):
    partition: dict[str, Any] = {}
    offset: dict[str, Any] = {}


class _Offsets(BaseModel):
    """getConnectv1ConnectorOffsets's answer (connect.v1.ConnectorOffsets)."""

    name: str = ""
    id: str = ""
    offsets: list[_PartitionOffset] = []


class _AlterRequest(BaseModel):
    """connect.v1.AlterOffsetRequestInfo: the 202 of alterConnectv1ConnectorOffsetsRequest."""

    id: str
    name: str
    requested_at: datetime
    type: str


class _AlterPhase(BaseModel):
    phase: str
    message: str | None = None


class _AlterStatus(BaseModel):
    """connect.v1.AlterOffsetStatus: getConnectv1ConnectorOffsetsRequestStatus's answer."""

    request: _AlterRequest
    status: _AlterPhase


class _ExpansionId(BaseModel):
    id: str = ""


class _Expansion(BaseModel):
    id: _ExpansionId | None = None


# getConnectv1ConnectorConfig: string values; listConnectv1ConnectorsWithExpansions: by name
_CONFIG: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, str | None])
_EXPANSIONS: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, _Expansion])


class ConfluentCloudBackend(_RestConnector):
    """Confluent Cloud's Connect API (connect/v1), authenticated with a Cloud API key."""

    kind = "confluent_cloud"
    stop_state = "PAUSED"  # the API has no stop
    reset_needs_stop = False  # the offsets request stops and restarts the connector itself

    def __init__(
        self,
        base_url: str,
        environment: str,
        cluster: str,
        name: str,
        api_key: str,
        api_secret: str,
        http: httpx.Client | None = None,
        *,
        poll_interval_s: float = 2.0,
        transition_timeout_s: float = 60.0,
        offsets_timeout_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        **retry: Any,
    ) -> None:
        self._cluster = (
            f"{base_url.rstrip('/')}/connect/v1/environments/{environment}/clusters/{cluster}"
        )
        self._base = f"{self._cluster}/connectors/{name}"
        self._name = name
        self._poll_interval_s = poll_interval_s
        self._transition_timeout_s = transition_timeout_s
        self._offsets_timeout_s = offsets_timeout_s
        self._clock, self._sleep = clock, sleep
        self._rest = RetryingRest(
            http or httpx.Client(timeout=15, auth=httpx.BasicAuth(api_key, api_secret)),
            sleep=sleep,
            **retry,
        )

    def apply(self, config: dict[str, str]) -> ApplyResult:
        """createOrUpdateConnectv1ConnectorConfig (PUT .../config, 200), unless the keys cdc-ops
        owns already hold these values in getConnectv1ConnectorConfig's answer."""
        owned = {k: v for k, v in config.items() if k != "name" and k not in SERVICE_KEYS}
        desired = owned | {"name": self._name}
        current = self._config()
        if current is not None and not _owned_differences(desired, current):
            return ApplyResult.UNCHANGED
        self._rest.request("PUT", f"{self._base}/config", json=desired)
        # the document gives the PUT one success code (200) for both: the GET told which it was
        return ApplyResult.CREATED if current is None else ApplyResult.UPDATED

    def status(self) -> ConnectorStatus:
        """readConnectv1ConnectorStatus (GET .../status); 404: the connector does not exist."""
        try:
            response = self._rest.request("GET", f"{self._base}/status")
        except ConnectorNotFound:
            return ConnectorStatus(self._name, ABSENT)
        body = _parse(_Status, response)
        return ConnectorStatus(
            name=body.name,
            state=body.connector.state,
            tasks=[_task(t) for t in body.tasks],
            worker_id=body.connector.worker_id,
            trace=body.connector.trace or "",
        )

    # pause and resume: _RestConnector's PUT .../pause and .../resume (pauseConnectv1Connector,
    # resumeConnectv1Connector): 202 with no body, which is not read

    def restart(self, include_tasks: bool = True, only_failed: bool = True) -> ConnectorStatus:
        """A pause, then a resume: the document offers no restart. The service restarts the
        connector and every task, so `include_tasks` cannot narrow it; with `only_failed`, a
        connector with nothing failed is left alone, and a paused or absent one always is.

        A pause is asynchronous and a resume "does nothing if the connector is not paused", so the
        resume waits until the status shows PAUSED (at most `transition_timeout_s`). Without it
        the resume is sent all the same, so cdc-ops does not leave a connector paused, and the
        restart raises ConnectorError: a late pause could still take effect.
        """
        current = self.status()
        # a restart neither undoes a pause nor creates a connector
        if current.state in (ABSENT, PAUSED) or (only_failed and not _failing(current)):
            return current
        self.pause()
        paused = self._wait(lambda s: s.state == PAUSED, self._transition_timeout_s)
        self.resume()
        if paused.state != PAUSED:
            raise ConnectorError(
                f"restart of {self._name}: the pause did not show within"
                f" {self._transition_timeout_s:g} s (state {paused.state}); the resume was sent"
                " anyway - if the connector shows PAUSED later, resume it"
            )
        return self.status()

    def stop(self) -> None:
        """A pause: the document has no stop (Kafka Connect's STOPPED). Paused, the connector's
        tasks show STOPPED and process nothing until it is resumed."""
        self.pause()

    def offsets(self) -> list[dict[str, Any]]:
        """getConnectv1ConnectorOffsets (GET .../offsets), in Kafka Connect's shape: a list of
        {"partition": {...}, "offset": {...}}. The service observes offsets periodically, so
        they may trail the connector by a little."""
        body = _parse(_Offsets, self._rest.request("GET", f"{self._base}/offsets"))
        return [{"partition": o.partition, "offset": o.offset} for o in body.offsets]

    def reset_offsets(self) -> None:
        """alterConnectv1ConnectorOffsetsRequest (POST .../offsets/request, type DELETE, 202),
        then getConnectv1ConnectorOffsetsRequestStatus (GET .../offsets/request/status) until
        this request is APPLIED, at most `offsets_timeout_s`. The service stops the connector
        while it alters the offsets. It resets only the offsets Connect keeps: the replication
        slot keeps its own position.
        """
        response = self._rest.request(
            "POST", f"{self._base}/offsets/request", json={"type": "DELETE"}
        )
        asked = _parse(_AlterRequest, response)
        deadline = self._clock() + self._offsets_timeout_s
        phase = "not reported yet"
        while True:
            with contextlib.suppress(ConnectorNotFound):  # not recorded yet: keep asking
                url = f"{self._base}/offsets/request/status"
                answer = _parse(_AlterStatus, self._rest.request("GET", url))
                # the status is the latest request's: an earlier one's says nothing of this one
                if answer.request.requested_at == asked.requested_at:
                    phase = answer.status.phase
                    if phase == "APPLIED":
                        return
                    if phase == "FAILED":
                        raise ConnectorError(
                            f"offset reset of {self._name} failed:"
                            f" {answer.status.message or 'the service gave no message'}"
                        )
            if self._clock() >= deadline:
                raise ConnectorError(
                    f"offset reset of {self._name} (requested {asked.requested_at.isoformat()})"
                    f" is {phase} after {self._offsets_timeout_s:g} s; it may still be applied"
                )
            self._sleep(self._poll_interval_s)

    def delete(self) -> None:
        """deleteConnectv1Connector (DELETE the connector, 200 {"error": null}); 404: already
        gone, which is the goal."""
        with contextlib.suppress(ConnectorNotFound):
            self._rest.request("DELETE", self._base)

    def resource_id(self) -> str | None:
        """The connector's id (lcc-...), which the Metrics API filters on: from
        listConnectv1ConnectorsWithExpansions (GET .../connectors?expand=id). None: no such
        connector."""
        response = self._rest.request("GET", f"{self._cluster}/connectors", params={"expand": "id"})
        found = _parse_map(_EXPANSIONS, response).get(self._name)
        if found is None or found.id is None:
            return None
        return found.id.id or None

    def _config(self) -> dict[str, Any] | None:
        """getConnectv1ConnectorConfig (GET .../config); None: 404, no such connector."""
        try:
            response = self._rest.request("GET", f"{self._base}/config")
        except ConnectorNotFound:
            return None
        return _parse_map(_CONFIG, response)

    def _wait(self, done: Callable[[ConnectorStatus], bool], timeout_s: float) -> ConnectorStatus:
        deadline = self._clock() + timeout_s
        while True:
            status = self.status()
            if done(status) or self._clock() >= deadline:
                return status
            self._sleep(self._poll_interval_s)


def _owned_differences(desired: dict[str, str], current: dict[str, Any]) -> list[str]:
    """The keys cdc-ops sends whose value differs in the service's answer. Secrets come back
    masked ('****************'), so they are not compared: a changed secret alone is not sent."""
    return sorted(
        k
        for k, v in desired.items()
        if k not in SECRET_KEYS and not _masked(current.get(k)) and current.get(k) != v
    )


def _masked(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and set(value) == {"*"}


def _failing(status: ConnectorStatus) -> bool:
    return status.state in (FAILED, "DEGRADED") or bool(status.failed_tasks)


def _task(t: _TaskState) -> TaskStatus:
    if t.state in _TASK_ERRORS:  # FAILED for the health checks; the service's word in the trace
        return TaskStatus(t.id, FAILED, t.worker_id, f"{t.state}: {t.msg}" if t.msg else t.state)
    return TaskStatus(t.id, t.state, t.worker_id, t.msg or "")


def _parse(model: type[M], response: httpx.Response) -> M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise _unexpected(response, exc) from exc


def _parse_map(adapter: TypeAdapter[dict[str, Any]], response: httpx.Response) -> dict[str, Any]:
    try:
        return adapter.validate_json(response.content)
    except ValidationError as exc:
        raise _unexpected(response, exc) from exc


def _unexpected(response: httpx.Response, exc: ValidationError) -> ConnectorError:
    # without the input: a configuration answer's values are not for messages
    where = "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
        for e in exc.errors(include_input=False)[:3]
    )
    request = response.request
    return ConnectorError(f"{request.method} {request.url}: unexpected answer ({where})")
