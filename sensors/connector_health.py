"""Restart the CDC connector's failed tasks with back-off; alert once restarts do not help. Every
tick reports the connector's state and its `connector_running` check to the UI.

A worker that does not answer says nothing about the connector: the tick holds (standing alerts
neither repeated nor resolved, the count kept). While cdc-ops has stopped the cluster on purpose
the connector is left alone and nothing pages; the check says why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from assets.connector import connector_events
from cdc_ops.adapters import Adapters
from cdc_ops.connector.backends import ConnectorError
from cdc_ops.connector.health import HealthMemory, connector_health
from cdc_ops.health import verdicts
from cdc_ops.settings import Settings
from sensors.factory import Verdict, alert_sensor


def _stopped_on_purpose(adapters: Adapters) -> str | None:
    try:
        state = adapters.cluster_observer.observe()
    except Exception:  # noqa: BLE001 - unknown: decide as if the cluster were not stopped
        return None
    return verdicts.stopped_on_purpose(state)


def connector_health_verdict(adapters: Adapters, memory: dict[str, Any], now: datetime) -> Verdict:
    settings, backend = adapters.settings, adapters.connector_backend
    c = settings.connector
    why = _stopped_on_purpose(adapters)
    try:
        status = backend.status()
        decision = connector_health(
            status,
            HealthMemory(**memory),
            now,
            c.max_restarts,
            c.restart_backoff_cap_s,
            settings.alerts.runbook_base_url,
            stopped_on_purpose=why,
        )
        if decision.restart:
            status = backend.restart(include_tasks=True, only_failed=True)
    except ConnectorError as exc:
        # a restart that did not reach the worker is not counted: memory as it was
        summary = f"connector {c.name}: the {backend.kind} worker does not answer ({exc})"
        return Verdict([], memory, [], summary, hold=True)
    extra: dict[str, Any] = {
        "restart_decision": decision.reason,
        "restarts": decision.memory.restarts,
    }
    if why is not None:
        # the check then says why, and warns instead of failing; passed only when there is a
        # reason, so a connector_events without the parameter still takes every other tick
        extra["on_purpose"] = why
    events = connector_events(status, now, **extra)
    summary = decision.reason
    health = verdicts.on_purpose(verdicts.connector_health(status), why)
    if why is not None and not health.healthy:  # the reason first, then what was read
        summary = f"{health.says}; no restart"
    return Verdict(decision.alerts, decision.memory.as_dict(), events, summary)


def build_connector_health_sensor(settings: Settings):
    return alert_sensor(
        "connector_health",
        connector_health_verdict,
        settings.connector.health_interval_s,
        "Restarts failed connector tasks after n*n+n minutes (capped) and alerts after "
        "connector.max_restarts restarts in a row; holds while the worker does not answer, and "
        "leaves the connector alone while cdc-ops has stopped the cluster on purpose.",
    )
