"""The logical replication slot the CDC connector reads from: lag, activity, WAL retention, and
three checks (present, retained WAL under its thresholds, WAL not lost)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dagster import AssetCheckSpec, AssetObservation, AssetSpec, MetadataValue

from assets.health import check_evaluation, number, observed_at
from assets.keys import AURORA_CLUSTER, REPLICATION_SLOT, SLOT_CHECKS
from cdc_ops.health.verdicts import Health, slot_checks, slot_health
from cdc_ops.health.verdicts import on_purpose as on_purpose_health
from cdc_ops.settings import Thresholds
from cdc_ops.slot.reading import SlotState

slot_spec = AssetSpec(
    REPLICATION_SLOT,
    deps=[AURORA_CLUSTER],
    description="The pgoutput logical replication slot: lag, activity and WAL retention. "
    "'absent' means no connector has created it yet.",
    group_name="source",
)

_DESCRIPTIONS = {
    "slot_present": "The slot exists (the connector created it).",
    "slot_retained_wal": "Retained WAL is under thresholds.slot_lag_warn_bytes "
    "(ERROR over slot_lag_critical_bytes).",
    "slot_wal_status": "wal_status is neither unreserved nor lost.",
}
slot_check_specs = [
    AssetCheckSpec(name, asset=REPLICATION_SLOT, description=_DESCRIPTIONS[name])
    for name in SLOT_CHECKS
]


def slot_check_healths(slot: SlotState, t: Thresholds) -> dict[str, Health]:
    """Check name -> verdict, from one read of the slot."""
    checks = slot_checks(slot, t)
    return {f"slot_{part}": health for part, health in checks.items()}


def slot_metadata(slot: SlotState, t: Thresholds, at: datetime) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "slot_name": slot.name,
        "state": slot.state,
        "active": MetadataValue.bool(slot.active) if slot.active is not None else None,
        "wal_status": slot.wal_status,
        "lag_bytes": number(slot.lag_bytes),
        "retained_wal_bytes": number(slot.retained_bytes),
        "safe_wal_size": number(slot.safe_wal_size),
        "confirmed_flush_lsn": slot.confirmed_flush_lsn,
        "health": slot_health(slot, t).says,
        **observed_at(at),
    }
    if slot.error:
        metadata["error"] = slot.error
    return {k: (MetadataValue.null() if v is None else v) for k, v in metadata.items()}


def slot_events(
    slot: SlotState, t: Thresholds, at: datetime, on_purpose: str | None = None
) -> list:
    """The observation and the three checks; `on_purpose`: why the slot cannot be read (cdc-ops
    stopped the cluster), so its checks warn with that instead of failing."""
    return [
        AssetObservation(asset_key=REPLICATION_SLOT, metadata=slot_metadata(slot, t, at)),
        *(
            check_evaluation(REPLICATION_SLOT, name, on_purpose_health(health, on_purpose))
            for name, health in slot_check_healths(slot, t).items()
        ),
    ]
