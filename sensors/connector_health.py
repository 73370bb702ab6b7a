"""Restart the CDC connector's failed tasks with back-off; alert once restarts do not help. Every
tick reports the connector's state and its `connector_running` check to the UI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from assets.connector import connector_events
from cdc_ops.adapters import Adapters
from cdc_ops.connector.health import HealthMemory, connector_health
from cdc_ops.settings import Settings
from sensors.factory import Verdict, alert_sensor


def connector_health_verdict(adapters: Adapters, memory: dict[str, Any], now: datetime) -> Verdict:
    settings, backend = adapters.settings, adapters.connector_backend
    status = backend.status()
    c = settings.connector
    decision = connector_health(
        status,
        HealthMemory(**memory),
        now,
        c.max_restarts,
        c.restart_backoff_cap_s,
        settings.alerts.runbook_base_url,
    )
    if decision.restart:
        status = backend.restart(include_tasks=True, only_failed=True)
    events = connector_events(
        status, now, restart_decision=decision.reason, restarts=decision.memory.restarts
    )
    return Verdict(decision.alerts, decision.memory.as_dict(), events, decision.reason)


def build_connector_health_sensor(settings: Settings):
    return alert_sensor(
        "connector_health",
        connector_health_verdict,
        settings.connector.health_interval_s,
        "Restarts failed connector tasks after n*n+n minutes (capped) and alerts after "
        "connector.max_restarts restarts in a row.",
    )
