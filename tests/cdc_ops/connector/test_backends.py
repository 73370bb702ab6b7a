"""Kafka Connect's client against its documented request/response shapes (Confluent Cloud's:
test_confluent_cloud.py)."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from cdc_ops.connector.backends import (
    ABSENT,
    ApplyResult,
    ConnectorError,
    KafkaConnectBackend,
)

CONNECT = "http://connect.test:8083"
NAME = "business-events-cdc"
BASE = f"{CONNECT}/connectors/{NAME}"
STATUS = {
    "name": NAME,
    "connector": {"state": "RUNNING", "worker_id": "10.0.0.1:8083"},
    "tasks": [
        {
            "id": 0,
            "state": "FAILED",
            "worker_id": "10.0.0.1:8083",
            "trace": "org.apache.kafka.connect.errors.ConnectException: slot in use",
        },
    ],
    "type": "source",
}


def backend(**kw) -> KafkaConnectBackend:
    return KafkaConnectBackend(CONNECT, NAME, httpx.Client(), sleep=lambda _s: None, **kw)


@respx.mock
def test_apply_creates_updates_and_leaves_an_identical_config_alone() -> None:
    respx.get(f"{BASE}/config").mock(
        side_effect=[
            httpx.Response(404, json={"error_code": 404, "message": f"Connector {NAME} not found"})
        ]
    )
    put = respx.put(f"{BASE}/config").mock(return_value=httpx.Response(201, json={"name": NAME}))
    assert backend().apply({"connector.class": "X", "a": "1"}) == ApplyResult.CREATED
    assert json.loads(put.calls.last.request.content) == {
        "connector.class": "X",
        "a": "1",
        "name": NAME,
    }

    respx.get(f"{BASE}/config").mock(
        return_value=httpx.Response(200, json={"connector.class": "X", "a": "1", "name": NAME})
    )
    assert backend().apply({"connector.class": "X", "a": "1"}) == ApplyResult.UNCHANGED
    assert put.call_count == 1  # nothing sent
    put.mock(return_value=httpx.Response(200, json={"name": NAME}))
    assert backend().apply({"connector.class": "X", "a": "2"}) == ApplyResult.UPDATED


@respx.mock
def test_status_tasks_and_absent() -> None:
    respx.get(f"{BASE}/status").mock(return_value=httpx.Response(200, json=STATUS))
    status = backend().status()
    assert status.state == "RUNNING" and not status.healthy
    assert [t.id for t in status.failed_tasks] == [0]
    assert "slot in use" in status.failed_tasks[0].trace
    respx.get(f"{BASE}/status").mock(return_value=httpx.Response(404, json={"error_code": 404}))
    assert backend().status().state == ABSENT


@respx.mock
def test_restart_failed_tasks_answers_202_with_states() -> None:
    restarting = {**STATUS, "tasks": [{"id": 0, "state": "RESTARTING", "worker_id": "w"}]}
    route = respx.post(f"{BASE}/restart").mock(return_value=httpx.Response(202, json=restarting))
    status = backend().restart()
    assert route.calls.last.request.url.params["includeTasks"] == "true"
    assert route.calls.last.request.url.params["onlyFailed"] == "true"
    assert status.tasks[0].state == "RESTARTING"


STALE = (
    "Cannot complete request momentarily due to stale configuration (typically caused by a"
    " concurrent config change)"
)


@respx.mock
def test_409_during_a_rebalance_is_retried() -> None:
    route = respx.put(f"{BASE}/pause").mock(
        side_effect=[
            httpx.Response(409, json={"error_code": 409, "message": STALE}),
            httpx.Response(409, json={"error_code": 409, "message": "rebalance in progress"}),
            httpx.Response(202),
        ]
    )
    backend().pause()
    assert route.call_count == 3


@respx.mock
def test_persistent_409_and_other_errors_name_the_call() -> None:
    respx.put(f"{BASE}/resume").mock(
        return_value=httpx.Response(
            409, json={"error_code": 409, "message": "rebalance in progress"}
        )
    )
    with pytest.raises(ConnectorError, match=r"PUT .*/resume: 409 rebalance in progress"):
        backend(attempts=3).resume()
    respx.put(f"{BASE}/stop").mock(
        return_value=httpx.Response(400, json={"error_code": 400, "message": "bad"})
    )
    with pytest.raises(ConnectorError, match="400 bad"):
        backend().stop()


@respx.mock
def test_offsets() -> None:
    body = {
        "offsets": [
            {"partition": {"server": "cdc-streaming"}, "offset": {"lsn": 24023128, "txId": 555}}
        ]
    }
    respx.get(f"{BASE}/offsets").mock(return_value=httpx.Response(200, json=body))
    assert backend().offsets()[0]["offset"]["lsn"] == 24023128
