"""The logical replication slot the CDC connector reads from, observed."""

from dagster import (
    AssetExecutionContext,
    AssetSpec,
    DataVersion,
    MetadataValue,
    ObserveResult,
    multi_observable_source_asset,
)

from assets.keys import AURORA_CLUSTER, REPLICATION_SLOT
from assets.resources import CdcOpsResource
from cdc_ops.replication_slot import observe_slot


@multi_observable_source_asset(
    specs=[
        AssetSpec(
            REPLICATION_SLOT,
            deps=[AURORA_CLUSTER],
            description="The pgoutput logical replication slot: lag, activity and WAL retention. "
            "'absent' means no connector has created it yet.",
            group_name="source",
        )
    ],
)
def replication_slot(context: AssetExecutionContext, cdc_ops: CdcOpsResource):
    slot = observe_slot(cdc_ops.settings())
    context.log.info(f"slot {slot.name}: {slot.state}")
    metadata = {
        "slot_name": slot.name,
        "state": slot.state,
        "active": MetadataValue.bool(bool(slot.active)) if slot.active is not None else "n/a",
        "wal_status": slot.wal_status or "n/a",
        "lag_bytes": MetadataValue.int(slot.lag_bytes) if slot.lag_bytes is not None else "n/a",
        "retained_wal_bytes": (
            MetadataValue.int(slot.retained_bytes) if slot.retained_bytes is not None else "n/a"
        ),
        "safe_wal_size": (
            MetadataValue.int(slot.safe_wal_size) if slot.safe_wal_size is not None else "n/a"
        ),
    }
    if slot.error:
        metadata["error"] = slot.error
    yield ObserveResult(
        asset_key=REPLICATION_SLOT,
        data_version=DataVersion(slot.confirmed_flush_lsn or slot.state),
        metadata=metadata,
    )
