"""Connector health: restart with n*n+n minute back-off, give up and alert (pure), and the sensor's
verdict around it: a worker that does not answer, a 409 during a rebalance, the cluster stopped on
purpose."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import respx

from cdc_ops.adapters import Adapters
from cdc_ops.alerts.delivery import Alerter, Severity
from cdc_ops.cluster.state import (
    TAG_LAST_ACTION,
    TAG_LAST_ACTION_AT,
    TAG_LAST_ACTION_REASON,
    ClusterState,
)
from cdc_ops.connector.backends import ConnectorStatus, KafkaConnectBackend, TaskStatus
from cdc_ops.connector.health import HealthMemory, backoff, connector_health, root_causes
from cdc_ops.connector.metrics import NoMetrics
from cdc_ops.settings import Settings
from sensors.connector_health import connector_health_verdict
from sensors.factory import run_tick
from tests.helpers import Recorder

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
FAILED = ConnectorStatus("c", "RUNNING", [TaskStatus(0, "FAILED", trace="ConnectException: x")])
HEALTHY = ConnectorStatus("c", "RUNNING", [TaskStatus(0, "RUNNING")])
WHY = "cluster db stopped: stopped on purpose by cdc-ops at 2026-11-23T11:00:00+00:00, reason: idle"


def restart_minutes(
    status: ConnectorStatus, max_restarts: int, cap_s: int
) -> tuple[list[float], object]:
    """Tick once a minute on an injected clock until the decision alerts: the minutes (from NOW)
    at which it restarted, and the alerting decision."""
    memory, now, restarted = HealthMemory(), NOW, []
    for _ in range(24 * 60):
        decision = connector_health(status, memory, now, max_restarts, cap_s)
        if decision.restart:
            restarted.append((now - NOW).total_seconds() / 60)
        if decision.alerts:
            return restarted, decision
        memory = decision.memory
        now += timedelta(minutes=1)
    raise AssertionError("never gave up")


def test_backoff_is_n_squared_plus_n_minutes_capped() -> None:
    assert [backoff(n, 3600).total_seconds() / 60 for n in range(6)] == [0, 2, 6, 12, 20, 30]
    assert backoff(10, 3600) == timedelta(hours=1)
    assert backoff(4, 15 * 60) == timedelta(minutes=15)


def test_restarts_come_at_0_2_6_12_20_minutes_apart_capped_then_give_up() -> None:
    # cap 15 minutes: the fifth and sixth gaps (20, 30 minutes uncapped) wait 15
    restarted, decision = restart_minutes(FAILED, max_restarts=6, cap_s=15 * 60)
    assert restarted == [0, 2, 8, 20, 35, 50]
    (alert,) = decision.alerts
    assert decision.reason == "gave up after 6 restarts" and not decision.restart
    assert alert.severity is Severity.CRITICAL and "after 6 restarts" in alert.summary
    assert alert.key == "connector/c/failed" and alert.details == "ConnectException: x"
    # uncapped (the default cap is an hour): 0, 2, 6, 12, 20 minutes apart
    restarted, _ = restart_minutes(
        FAILED, max_restarts=5, cap_s=Settings().connector.restart_backoff_cap_s
    )
    assert [b - a for a, b in zip(restarted, restarted[1:], strict=False)] == [2, 6, 12, 20]


def test_a_restart_waits_to_the_second() -> None:
    memory = HealthMemory(2, NOW.isoformat())  # due after 6 minutes
    early = connector_health(FAILED, memory, NOW + timedelta(minutes=6, seconds=-1), 5, 3600)
    assert not early.restart and early.memory == memory and early.alerts == []
    assert early.reason == "connector RUNNING, task 0: FAILED; next restart after 12:06:00"
    due = connector_health(FAILED, memory, NOW + timedelta(minutes=6), 5, 3600)
    assert due.restart and due.reason == "connector RUNNING, task 0: FAILED; restart 3 of 5"
    assert due.memory == HealthMemory(3, (NOW + timedelta(minutes=6)).isoformat())


def test_having_given_up_it_keeps_alerting_and_restarts_nothing_until_healthy() -> None:
    memory = HealthMemory(2, NOW.isoformat())
    for hours in (0, 1, 10):
        decision = connector_health(
            FAILED, memory, NOW + timedelta(hours=hours), 2, 3600, "docs/runbook.md"
        )
        assert not decision.restart and decision.memory == memory
        assert [a.runbook for a in decision.alerts] == ["docs/runbook.md#connector-failed"]
    healthy = connector_health(HEALTHY, memory, NOW, 2, 3600)
    assert healthy.alerts == [] and healthy.memory == HealthMemory() and not healthy.restart


def test_healthy_resets_the_count_so_the_next_failure_restarts_at_once() -> None:
    memory = HealthMemory(3, NOW.isoformat())
    healthy = connector_health(HEALTHY, memory, NOW + timedelta(minutes=1), 4, 3600)
    assert healthy.memory == HealthMemory() and healthy.reason == "connector and all tasks RUNNING"
    again = connector_health(FAILED, healthy.memory, NOW + timedelta(minutes=2), 4, 3600)
    assert again.restart and again.memory.restarts == 1 and "restart 1 of 4" in again.reason


def test_paused_and_absent_are_left_alone() -> None:
    paused = connector_health(ConnectorStatus("c", "PAUSED"), HealthMemory(), NOW, 4, 3600)
    assert not paused.restart and paused.alerts == []
    absent = connector_health(ConnectorStatus("c", "ABSENT"), HealthMemory(), NOW, 4, 3600)
    assert not absent.restart and absent.reason == "connector is not configured"
    # Confluent Cloud's state while it creates a managed connector
    new = connector_health(ConnectorStatus("c", "PROVISIONING"), HealthMemory(), NOW, 4, 3600)
    assert (new.restart, new.alerts, new.reason) == (False, [], "connector is being provisioned")


def test_stopped_on_purpose_restarts_nothing_pages_nothing_and_keeps_the_count() -> None:
    for memory in (HealthMemory(1, NOW.isoformat()), HealthMemory(4, NOW.isoformat())):
        decision = connector_health(
            FAILED, memory, NOW + timedelta(hours=1), 4, 3600, stopped_on_purpose=WHY
        )
        assert not decision.restart and decision.alerts == [] and decision.memory == memory
        assert decision.reason == f"connector RUNNING, task 0: FAILED; no restart: {WHY}"
    # a RUNNING read while the database is stopped does not reset the count either
    healthy = connector_health(HEALTHY, HealthMemory(2), NOW, 4, 3600, stopped_on_purpose=WHY)
    assert healthy.memory == HealthMemory(2) and not healthy.restart


def test_the_alert_details_are_the_traces_causes() -> None:
    trace = (
        "org.apache.kafka.connect.errors.ConnectException: An exception occurred in the change"
        " event producer. This connector will be stopped.\n"
        "\tat io.debezium.pipeline.ErrorHandler.setProducerThrowable(ErrorHandler.java:67)\n"
        "Caused by: io.debezium.jdbc.JdbcConnectionException: FATAL: must be superuser or"
        " replication role to start walsender\n"
        "\tat io.debezium.connector.postgresql.connection.PostgresReplicationConnection.x(P:1)\n"
        "\t... 8 more\n"
    )
    assert root_causes(trace).splitlines() == [
        "org.apache.kafka.connect.errors.ConnectException: An exception occurred in the change"
        " event producer. This connector will be stopped.",
        "Caused by: io.debezium.jdbc.JdbcConnectionException: FATAL: must be superuser or"
        " replication role to start walsender",
    ]
    assert root_causes("") == "" and len(root_causes("x" * 5000)) == 2000


# --- the sensor's verdict around the decision: the worker through respx, the cluster faked ---

CONNECT = "http://connect.test:8083"
BASE = f"{CONNECT}/connectors/{Settings().connector.name}"


def status_body(state: str, trace: str = "") -> dict:
    task = {"id": 0, "state": state, "worker_id": "w", **({"trace": trace} if trace else {})}
    return {"name": Settings().connector.name, "connector": {"state": "RUNNING"}, "tasks": [task]}


class Cluster:
    def __init__(self, state: ClusterState | Exception) -> None:
        self.state = state

    def observe(self) -> ClusterState:
        if isinstance(self.state, Exception):
            raise self.state
        return self.state


AVAILABLE = ClusterState("db", "available")
STOPPED = ClusterState(
    "db",
    "stopped",
    tags={
        TAG_LAST_ACTION: "stop",
        TAG_LAST_ACTION_AT: "2026-11-23T11:00:00+00:00",
        TAG_LAST_ACTION_REASON: "idle",
    },
)


def adapters(
    settings: Settings, cluster: ClusterState | Exception = AVAILABLE, attempts: int = 5
) -> Adapters:
    built = Adapters(settings)
    # what the adapters would build, put in their place: no worker, no RDS in a unit test
    built.__dict__["connector_backend"] = KafkaConnectBackend(
        CONNECT, settings.connector.name, httpx.Client(), attempts=attempts, sleep=lambda _s: None
    )
    built.__dict__["cluster_observer"] = Cluster(cluster)
    built.__dict__["connector_metrics"] = NoMetrics("no worker in a unit test")
    return built


def gave_up(settings: Settings, alerter: Alerter) -> str | None:
    """A cursor with the connector's critical alert standing and the count at its limit."""
    memory = {"restarts": settings.connector.max_restarts, "last_restart_at": NOW.isoformat()}
    cursor = json.dumps({"alerts": None, "memory": memory})
    with respx.mock:
        respx.get(f"{BASE}/status").mock(
            return_value=httpx.Response(200, json=status_body("FAILED", "ConnectException: x"))
        )
        tick = run_tick(connector_health_verdict, cursor, adapters(settings), alerter, NOW)
    assert [(n.kind, n.alert.severity) for n in tick.notifications] == [
        ("firing", Severity.CRITICAL)
    ]
    return tick.cursor


@respx.mock
def test_a_restart_answered_409_during_a_rebalance_is_retried() -> None:
    respx.get(f"{BASE}/status").mock(return_value=httpx.Response(200, json=status_body("FAILED")))
    rebalancing = {
        "error_code": 409,
        "message": "Cannot complete request because of a conflicting"
        " operation (e.g. worker rebalance)",
    }
    restart = respx.post(f"{BASE}/restart").mock(
        side_effect=[
            httpx.Response(409, json=rebalancing),
            httpx.Response(202, json=status_body("RESTARTING")),
        ]
    )
    tick = run_tick(
        connector_health_verdict, None, adapters(Settings()), Alerter(Settings(), []), NOW
    )
    assert restart.call_count == 2
    assert dict(restart.calls.last.request.url.params) == {
        "includeTasks": "true",
        "onlyFailed": "true",
    }
    assert json.loads(tick.cursor)["memory"] == {
        "restarts": 1,
        "last_restart_at": NOW.isoformat(),
        "events_seen": None,  # no metrics to count from
        "events_seen_at": None,
    }
    assert "restart 1 of 5" in tick.summary and tick.notifications == []
    observation = tick.result.asset_events[0]
    assert observation.metadata["tasks"].value[0]["state"] == "RESTARTING"  # the 202's states


def test_a_worker_that_does_not_answer_holds_the_alert_and_the_count() -> None:
    settings, recorder = Settings(), Recorder()
    alerter = Alerter(settings, [recorder])
    cursor = gave_up(settings, alerter)
    with respx.mock:
        respx.get(f"{BASE}/status").mock(side_effect=httpx.ConnectError("Connection refused"))
        later = NOW + timedelta(days=1)  # past the reminder's cooldown: still nothing sent
        tick = run_tick(connector_health_verdict, cursor, adapters(settings), alerter, later)
    assert tick.notifications == [] and tick.result.asset_events == []
    assert json.loads(tick.cursor) == json.loads(cursor)  # alerts and memory as they were
    assert "the kafka_connect worker does not answer" in tick.summary
    assert "Connection refused" in tick.summary
    assert [b["kind"] for b in recorder.bodies] == ["firing"]


@respx.mock
def test_a_restart_that_does_not_reach_the_worker_is_not_counted() -> None:
    respx.get(f"{BASE}/status").mock(return_value=httpx.Response(200, json=status_body("FAILED")))
    respx.post(f"{BASE}/restart").mock(side_effect=httpx.ReadTimeout("timed out"))
    tick = run_tick(
        connector_health_verdict,
        None,
        adapters(Settings(), attempts=2),
        Alerter(Settings(), []),
        NOW,
    )
    assert json.loads(tick.cursor)["memory"] == {}
    assert "does not answer" in tick.summary and "timed out" in tick.summary


def test_stopped_on_purpose_resolves_the_alert_and_restarts_nothing() -> None:
    settings, recorder = Settings(), Recorder()
    alerter = Alerter(settings, [recorder])
    cursor = gave_up(settings, alerter)
    with respx.mock:
        respx.get(f"{BASE}/status").mock(
            return_value=httpx.Response(200, json=status_body("FAILED"))
        )
        restart = respx.post(f"{BASE}/restart")
        tick = run_tick(connector_health_verdict, cursor, adapters(settings, STOPPED), alerter, NOW)
    assert restart.call_count == 0
    assert [n.kind for n in tick.notifications] == ["resolved"]
    assert json.loads(tick.cursor)["memory"] == json.loads(cursor)["memory"]
    assert tick.summary.startswith("cluster db stopped: stopped on purpose by cdc-ops at")
    assert "reason: idle" in tick.summary and tick.summary.endswith("; no restart")
    observation, check = tick.result.asset_events[:2]
    assert "no restart: cluster db stopped" in observation.metadata["restart_decision"].value
    # the check says why, and warns instead of failing as an error
    assert not check.passed and check.severity.value == "WARN"
    assert check.description.startswith("cluster db stopped: stopped on purpose by cdc-ops")


@respx.mock
def test_a_cluster_that_cannot_be_read_is_not_a_stop_on_purpose() -> None:
    respx.get(f"{BASE}/status").mock(return_value=httpx.Response(200, json=status_body("FAILED")))
    restart = respx.post(f"{BASE}/restart").mock(
        return_value=httpx.Response(202, json=status_body("RESTARTING"))
    )
    built = adapters(Settings(), RuntimeError("moto does not answer"))
    tick = run_tick(connector_health_verdict, None, built, Alerter(Settings(), []), NOW)
    check = tick.result.asset_events[1]
    assert restart.call_count == 1 and "on purpose" not in check.description
