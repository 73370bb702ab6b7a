"""Restart the CDC connector's failed tasks with back-off; alert once restarts do not help. Every
tick reports the connector as it is to the UI: its state, Debezium's figures (with events per
second since the last tick), the slot's LSNs, and the `connector_running` and lag checks.

A worker that does not answer says nothing about the connector: the tick holds (standing alerts
neither repeated nor resolved, the count kept). While cdc-ops has stopped the cluster on purpose
the connector is left alone and nothing pages; the check says why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from assets.connector import ConnectorView, connector_events
from cdc_ops.adapters import Adapters
from cdc_ops.connector.backends import ConnectorError
from cdc_ops.connector.health import HealthMemory, connector_health
from cdc_ops.connector.metrics import events_per_second
from cdc_ops.health import verdicts
from cdc_ops.health.reading import CONNECTOR as CONNECTOR_PART
from cdc_ops.health.reading import cluster_or_none, on_purpose_reasons
from cdc_ops.settings import Settings
from cdc_ops.slot.reading import observe_slot
from sensors.factory import Verdict, alert_sensor

# what the sensor remembers besides the restart count: the last TotalNumberOfEventsSeen, for
# events per second between two ticks
_SEEN, _SEEN_AT = "events_seen", "events_seen_at"


def connector_health_verdict(adapters: Adapters, memory: dict[str, Any], now: datetime) -> Verdict:
    settings, backend = adapters.settings, adapters.connector_backend
    c = settings.connector
    cluster = cluster_or_none(adapters)
    why = verdicts.stopped_on_purpose(cluster)
    counted = {k: v for k, v in memory.items() if k in HealthMemory.__dataclass_fields__}
    try:
        status = backend.status()
        decision = connector_health(
            status,
            HealthMemory(**counted),
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
    metrics = adapters.connector_metrics.read()
    seen_at = memory.get(_SEEN_AT)
    rate = events_per_second(
        memory.get(_SEEN),
        datetime.fromisoformat(seen_at) if seen_at else None,
        metrics.total_events_seen,
        now,
    )
    # the slot is not read while the cluster is stopped on purpose: it cannot answer
    slot = observe_slot(settings) if why is None else None
    view = ConnectorView(
        status, metrics, slot, rate, on_purpose_reasons(cluster).get(CONNECTOR_PART)
    )
    extra = {"restart_decision": decision.reason, "restarts": decision.memory.restarts}
    events = connector_events(
        view, now, lag_limit_ms=settings.thresholds.connector_lag_warn_ms, **extra
    )
    summary = decision.reason
    health = verdicts.on_purpose(verdicts.connector_health(status), why)
    if why is not None and not health.healthy:  # the reason first, then what was read
        summary = f"{health.says}; no restart"
    remembered = decision.memory.as_dict() | {
        _SEEN: metrics.total_events_seen,
        _SEEN_AT: now.isoformat() if metrics.total_events_seen is not None else None,
    }
    return Verdict(decision.alerts, remembered, events, summary)


def build_connector_health_sensor(settings: Settings):
    return alert_sensor(
        "connector_health",
        connector_health_verdict,
        settings.connector.health_interval_s,
        "Restarts failed connector tasks after n*n+n minutes (capped) and alerts after "
        "connector.max_restarts restarts in a row; holds while the worker does not answer, and "
        "leaves the connector alone while cdc-ops has stopped the cluster on purpose.",
    )
