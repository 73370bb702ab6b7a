"""Alert on the replication slot: retained WAL, wal_status, inactivity, a missing slot. A database
that does not answer says nothing about the slot (cluster_availability pages for that); while
cdc-ops keeps the cluster stopped on purpose, the slot's checks warn and say so."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from assets.replication_slot import slot_events
from cdc_ops.adapters import Adapters
from cdc_ops.connector.backends import ABSENT
from cdc_ops.health.reading import cluster_or_none
from cdc_ops.health.verdicts import stopped_on_purpose
from cdc_ops.settings import Settings
from cdc_ops.slot.health import slot_verdict
from cdc_ops.slot.reading import observe_slot
from sensors.factory import Verdict, alert_sensor


def slot_lag_verdict(adapters: Adapters, memory: dict[str, Any], now: datetime) -> Verdict:
    settings = adapters.settings
    slot = observe_slot(settings)
    since = memory.get("inactive_since")
    configured = adapters.connector_backend.status().state != ABSENT
    verdict = slot_verdict(
        slot,
        now,
        datetime.fromisoformat(since) if since else None,
        configured,
        settings.thresholds,
        settings.alerts.runbook_base_url,
    )
    events = slot_events(
        slot, settings.thresholds, now, stopped_on_purpose(cluster_or_none(adapters))
    )
    if verdict.skipped:  # unknown is not resolved: keep the alerts and the memory as they were
        summary = f"slot {slot.name}: the database does not answer"
        return Verdict([], memory, events, summary, hold=True)
    inactive = verdict.inactive_since.isoformat() if verdict.inactive_since else None
    return Verdict(
        verdict.alerts,
        {"inactive_since": inactive},
        events,
        f"slot {slot.name}: {slot.state}, {len(verdict.alerts)} alert(s)",
    )


def build_slot_lag_sensor(settings: Settings):
    return alert_sensor(
        "slot_lag",
        slot_lag_verdict,
        settings.alerts.sensor_interval_s,
        "Retained WAL over 1 GiB (warn) / 10 GiB (critical), wal_status unreserved or lost, the "
        "slot inactive too long, or missing while a connector is configured.",
    )
