"""Uptime and savings of the Aurora cluster, from its observed state history.

Only two numbers are materialization metadata (hours running and stopped over the last day), so
the asset's Plots tab charts exactly those two series over time; the rest is a table.
"""

from datetime import UTC, datetime, timedelta

from dagster import (
    AssetExecutionContext,
    AssetRecordsFilter,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
    asset,
)

from assets.health import number
from assets.keys import AURORA_CLUSTER, CLUSTER_UPTIME
from assets.resources import CdcOpsResource
from cdc_ops.cluster.uptime import uptime

WINDOWS = {"7d": timedelta(days=7), "30d": timedelta(days=30)}
PLOTTED = timedelta(days=1)
WINDOW_SCHEMA = TableSchema(
    columns=[
        TableColumn("window", "string"),
        TableColumn("running_h", "float"),
        TableColumn("stopped_h", "float"),
        TableColumn("unknown_h", "float"),
        TableColumn("stopped", "string"),
        TableColumn("saving", "string"),
    ]
)


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
    description="Hours the cluster ran vs was stopped over the last day (the two series the "
    "Plots tab draws; null where nothing was observed), and over 7 and 30 days with the "
    "estimated saving (auto_stop.hourly_price_usd per stopped hour). Computed when the code "
    "location starts and then every hour.",
)
def cluster_uptime(context: AssetExecutionContext, cdc_ops: CdcOpsResource) -> MaterializeResult:
    price = cdc_ops.settings.auto_stop.hourly_price_usd
    now = datetime.now(UTC)
    # one status before the 30-day window tells what held at its start
    history = status_history(context, now - WINDOWS["30d"] - timedelta(days=1))
    day = uptime(history, now, PLOTTED)
    known = day.running_h + day.stopped_h > 0
    records = []
    for name, window in WINDOWS.items():
        u = uptime(history, now, window)
        share = u.stopped_share
        records.append(
            TableRecord(
                {
                    "window": name,
                    "running_h": round(u.running_h, 2),
                    "stopped_h": round(u.stopped_h, 2),
                    "unknown_h": round(u.unknown_h, 2),
                    "stopped": f"{100 * share:.1f} %" if share is not None else "unknown",
                    "saving": f"${u.saving(price):.2f}",
                }
            )
        )
    return MaterializeResult(
        metadata={
            # the only numbers, so the Plots tab shows these two series and nothing else
            "running_hours_24h": number(round(day.running_h, 2) if known else None),
            "stopped_hours_24h": number(round(day.stopped_h, 2) if known else None),
            "unknown_hours_24h": f"{day.unknown_h:.2f}",
            "windows": MetadataValue.table(records=records, schema=WINDOW_SCHEMA),
            "hourly_price_usd": f"{price:g}",
            "observations": f"{len(history)}",
        }
    )
