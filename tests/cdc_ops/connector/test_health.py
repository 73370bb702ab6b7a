"""Connector health: restart with n*n+n minute back-off, give up and alert (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cdc_ops.alerts.delivery import Severity
from cdc_ops.connector.backends import ConnectorStatus, TaskStatus
from cdc_ops.connector.health import HealthMemory, backoff, connector_health

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
FAILED = ConnectorStatus("c", "RUNNING", [TaskStatus(0, "FAILED", trace="ConnectException: x")])
HEALTHY = ConnectorStatus("c", "RUNNING", [TaskStatus(0, "RUNNING")])


def test_backoff_is_n_squared_plus_n_minutes_capped() -> None:
    assert [backoff(n, 3600).total_seconds() / 60 for n in range(6)] == [0, 2, 6, 12, 20, 30]
    assert backoff(10, 3600) == timedelta(hours=1)


def test_restarts_wait_longer_each_time_then_give_up_with_an_alert() -> None:
    memory, now, restarts_at = HealthMemory(), NOW, []
    for _ in range(200):
        decision = connector_health(FAILED, memory, now, max_restarts=4, cap_s=3600)
        if decision.restart:
            restarts_at.append(now)
        if decision.alerts:
            break
        memory = decision.memory
        now += timedelta(minutes=1)
    gaps = [
        (b - a).total_seconds() / 60 for a, b in zip(restarts_at, restarts_at[1:], strict=False)
    ]
    assert len(restarts_at) == 4 and gaps == [2, 6, 12]
    (alert,) = decision.alerts
    assert alert.severity is Severity.CRITICAL and "after 4 restarts" in alert.summary
    assert alert.details == "ConnectException: x"


def test_healthy_resets_and_paused_is_left_alone() -> None:
    decision = connector_health(HEALTHY, HealthMemory(3, NOW.isoformat()), NOW, 4, 3600)
    assert not decision.restart and decision.memory == HealthMemory() and decision.alerts == []
    paused = connector_health(ConnectorStatus("c", "PAUSED"), HealthMemory(), NOW, 4, 3600)
    assert not paused.restart
    absent = connector_health(ConnectorStatus("c", "ABSENT"), HealthMemory(), NOW, 4, 3600)
    assert not absent.restart and absent.reason == "connector is not configured"
