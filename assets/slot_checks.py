"""Checks on the replication slot: present, WAL retained under its thresholds, WAL not lost."""

from dagster import AssetCheckResult, AssetCheckSeverity, asset_check

from assets.keys import REPLICATION_SLOT
from assets.resources import CdcOpsResource
from cdc_ops.replication_slot import observe_slot


@asset_check(asset=REPLICATION_SLOT, description="The slot exists (the connector created it).")
def slot_present(cdc_ops: CdcOpsResource) -> AssetCheckResult:
    slot = observe_slot(cdc_ops.settings())
    return AssetCheckResult(
        passed=slot.state == "present",
        severity=AssetCheckSeverity.ERROR,
        metadata={"state": slot.state, "error": slot.error or ""},
    )


@asset_check(
    asset=REPLICATION_SLOT,
    description="Retained WAL is under thresholds.slot_lag_warn_bytes (error over critical).",
)
def slot_retained_wal(cdc_ops: CdcOpsResource) -> AssetCheckResult:
    settings = cdc_ops.settings()
    slot = observe_slot(settings)
    retained = slot.retained_bytes or 0
    t = settings.thresholds
    return AssetCheckResult(
        passed=retained < t.slot_lag_warn_bytes,
        severity=(
            AssetCheckSeverity.ERROR
            if retained >= t.slot_lag_critical_bytes
            else AssetCheckSeverity.WARN
        ),
        metadata={
            "retained_bytes": retained,
            "warn_bytes": t.slot_lag_warn_bytes,
            "critical_bytes": t.slot_lag_critical_bytes,
        },  # fmt: skip
    )


@asset_check(asset=REPLICATION_SLOT, description="wal_status is neither unreserved nor lost.")
def slot_wal_status(cdc_ops: CdcOpsResource) -> AssetCheckResult:
    slot = observe_slot(cdc_ops.settings())
    return AssetCheckResult(
        passed=slot.wal_status not in ("unreserved", "lost"),
        severity=AssetCheckSeverity.ERROR,
        metadata={"wal_status": slot.wal_status or "n/a"},
    )
