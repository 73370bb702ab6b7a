"""Uptime and savings of the Aurora cluster over 7 and 30 days, from its observed state history.

The numbers are materialization metadata, so the asset's Plots tab charts them over time.
"""

from datetime import UTC, datetime, timedelta

from dagster import (
    AssetExecutionContext,
    AssetRecordsFilter,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.keys import AURORA_CLUSTER, CLUSTER_UPTIME
from assets.resources import CdcOpsResource
from cdc_ops.uptime import uptime

WINDOWS = {"7d": timedelta(days=7), "30d": timedelta(days=30)}


def status_history(context: AssetExecutionContext, since: datetime) -> list[tuple[datetime, str]]:
    samples: list[tuple[datetime, str]] = []
    cursor = None
    while True:
        page = context.instance.fetch_observations(
            AssetRecordsFilter(AURORA_CLUSTER, after_timestamp=since.timestamp()),
            limit=1000,
            cursor=cursor,
        )
        for record in page.records:
            observation = record.asset_observation
            status = observation.metadata.get("status") if observation else None
            if status is not None:
                samples.append((datetime.fromtimestamp(record.timestamp, UTC), str(status.value)))
        if not page.has_more:
            return samples
        cursor = page.cursor


@asset(
    key=CLUSTER_UPTIME,
    deps=[AURORA_CLUSTER],
    group_name="source",
    description="Hours the cluster ran vs was stopped over 7 and 30 days, and the estimated "
    "saving (auto_stop.hourly_price_usd per stopped hour).",
)
def cluster_uptime(context: AssetExecutionContext, cdc_ops: CdcOpsResource) -> MaterializeResult:
    price = cdc_ops.settings().auto_stop.hourly_price_usd
    now = datetime.now(UTC)
    # one status before the 30-day window tells what held at its start
    history = status_history(context, now - WINDOWS["30d"] - timedelta(days=1))
    metadata: dict[str, object] = {"hourly_price_usd": price, "observations": len(history)}
    rows = [
        "| window | running h | stopped h | unknown h | stopped | saving |",
        "|---|---|---|---|---|---|",
    ]
    for name, window in WINDOWS.items():
        u = uptime(history, now, window)
        share = u.stopped_share
        metadata |= {
            f"running_hours_{name}": MetadataValue.float(round(u.running_h, 2)),
            f"stopped_hours_{name}": MetadataValue.float(round(u.stopped_h, 2)),
            f"unknown_hours_{name}": MetadataValue.float(round(u.unknown_h, 2)),
            f"stopped_percent_{name}": MetadataValue.float(
                round(100 * share, 1) if share is not None else 0.0
            ),
            f"saving_usd_{name}": MetadataValue.float(round(u.saving(price), 2)),
        }
        shown = f"{100 * share:.1f} %" if share is not None else "n/a"
        rows.append(
            f"| {name} | {u.running_h:.1f} | {u.stopped_h:.1f} | {u.unknown_h:.1f} | {shown}"
            f" | ${u.saving(price):.2f} |"
        )
    metadata["summary"] = MetadataValue.md("\n".join(rows))
    return MaterializeResult(metadata=metadata)
