"""The CDC source connector. Materializing applies its configuration (idempotently) and checks
it in the same op; `connector_running` says whether it and every task run. The connector_health
sensor and the pipeline observation report its state on every tick, so it is never a stale
snapshot of the last apply."""

import warnings
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetObservation,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from assets.health import check_evaluation, check_key, check_result, number, observed_at
from assets.keys import CDC_CONNECTOR, CONNECTOR_CHECK, CONNECTOR_LAG_CHECK, REPLICATION_SLOT
from assets.resources import CdcOpsResource
from cdc_ops.adapters import Adapters
from cdc_ops.connector.backends import ConnectorStatus
from cdc_ops.connector.config import redacted, render
from cdc_ops.connector.metrics import ConnectorMetrics
from cdc_ops.health.reading import CONNECTOR as CONNECTOR_PART
from cdc_ops.health.reading import cluster_or_none, on_purpose_reasons
from cdc_ops.health.verdicts import Health, connector_health, connector_lag_health
from cdc_ops.health.verdicts import on_purpose as on_purpose_health
from cdc_ops.slot.reading import SlotState, observe_slot

connector_check_spec = AssetCheckSpec(
    CONNECTOR_CHECK,
    asset=CDC_CONNECTOR,
    description="The connector and every one of its tasks are RUNNING.",
)
connector_lag_check_spec = AssetCheckSpec(
    CONNECTOR_LAG_CHECK,
    asset=CDC_CONNECTOR,
    description="The last change the connector streamed was at most "
    "thresholds.connector_lag_warn_ms behind the source (Debezium's MilliSecondsBehindSource; "
    "WARN when over it or when the backend does not publish it).",
)


@dataclass(frozen=True)
class ConnectorView:
    """One look at the connector: its state, and what it is doing when that can be read."""

    status: ConnectorStatus
    metrics: ConnectorMetrics | None = None
    slot: SlotState | None = None
    events_per_second: float | None = None
    on_purpose: str | None = None  # why it is down on purpose (cdc-ops stopped the cluster)

    def health(self) -> Health:
        return on_purpose_health(connector_health(self.status), self.on_purpose)


def _tasks(status: ConnectorStatus) -> list[dict[str, Any]]:
    return [
        {"id": t.id, "state": t.state, "worker": t.worker_id, "trace": t.trace[:1000]}
        for t in status.tasks
    ]


def _metrics_metadata(view: ConnectorView) -> dict[str, Any]:
    m = view.metrics
    out: dict[str, Any] = {}
    if m is not None:
        out |= {
            "metrics_source": m.source,
            "ms_behind_source": number(m.ms_behind_source),
            "total_events_seen": number(m.total_events_seen),
            "events_per_second": number(view.events_per_second),
            "connected": MetadataValue.null() if m.connected is None else m.connected,
            "snapshot_running": _flag(m.snapshot_running),
            "snapshot_completed": _flag(m.snapshot_completed),
            "snapshot_remaining_tables": number(m.snapshot_remaining_tables),
            "snapshot_rows_scanned": number(m.snapshot_rows_scanned),
            "snapshot_chunk": m.snapshot_chunk or MetadataValue.null(),
        }
        if m.records_sent is not None:
            out["records_sent"] = number(m.records_sent)
        if m.unavailable:
            out["metrics_unavailable"] = MetadataValue.json(m.unavailable)
    if view.slot is not None:
        out |= {
            "slot_confirmed_flush_lsn": view.slot.confirmed_flush_lsn or MetadataValue.null(),
            "server_wal_lsn": view.slot.current_wal_lsn or MetadataValue.null(),
            "slot_lag_bytes": number(view.slot.lag_bytes),
        }
    return out


def _flag(value: bool | None) -> Any:
    return MetadataValue.null() if value is None else MetadataValue.bool(value)


def connector_metadata(view: ConnectorView | ConnectorStatus, at: datetime) -> dict[str, Any]:
    if isinstance(view, ConnectorStatus):
        view = ConnectorView(view)
    status = view.status
    return {
        "state": status.state,
        "worker": status.worker_id or MetadataValue.null(),
        "tasks": MetadataValue.json(_tasks(status)),
        "healthy": MetadataValue.bool(status.healthy),
        "error": (status.trace or next((t.trace for t in status.tasks if t.trace), ""))[:1000],
        "health": view.health().says,
        **_metrics_metadata(view),
        **observed_at(at),
    }


def connector_events(
    status: ConnectorStatus | ConnectorView,
    at: datetime,
    *,
    on_purpose: str | None = None,
    lag_limit_ms: int | None = None,
    **extra: Any,
) -> list:
    """The observation and its checks, for the sensors, the jobs and the pipeline observation.
    The lag check is evaluated only when the metrics were read (and a limit given)."""
    view = status if isinstance(status, ConnectorView) else ConnectorView(status)
    if on_purpose is not None:
        view = replace(view, on_purpose=on_purpose)
    events: list = [
        AssetObservation(
            asset_key=CDC_CONNECTOR, metadata={**connector_metadata(view, at), **extra}
        ),
        check_evaluation(CDC_CONNECTOR, CONNECTOR_CHECK, view.health()),
    ]
    if view.metrics is not None and lag_limit_ms is not None:
        lag = on_purpose_health(connector_lag_health(view.metrics, lag_limit_ms), view.on_purpose)
        # the figure on the check too, so its own Plots tab draws it
        figure = {"ms_behind_source": number(view.metrics.ms_behind_source)}
        events.append(check_evaluation(CDC_CONNECTOR, CONNECTOR_LAG_CHECK, lag, figure))
    return events


def look(adapters: Adapters, status: ConnectorStatus | None = None) -> ConnectorView:
    """Read the connector, its metrics, its slot and whether cdc-ops stopped the cluster."""
    status = status or adapters.connector_backend.status()
    why = on_purpose_reasons(cluster_or_none(adapters)).get(CONNECTOR_PART)
    return ConnectorView(
        status, adapters.connector_metrics.read(), observe_slot(adapters.settings), None, why
    )


@multi_asset(
    specs=[
        AssetSpec(
            CDC_CONNECTOR,
            deps=[REPLICATION_SLOT],
            group_name="cdc",
            description="The Debezium PostgreSQL connector on Kafka Connect (the local stack's "
            "worker or a self-managed one) or Confluent Cloud: materialize to apply its "
            "configuration, idempotently.",
        )
    ],
    check_specs=[connector_check_spec, connector_lag_check_spec],
    can_subset=True,
    name="cdc_connector",
)
def cdc_connector(context: AssetExecutionContext, cdc_ops: CdcOpsResource):
    settings = cdc_ops.settings
    backend = cdc_ops.adapters.connector_backend
    applied: dict[str, Any] = {}
    if CDC_CONNECTOR in context.selected_asset_keys:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            spec = render(settings)
        for warning in caught:
            context.log.warning(str(warning.message))
        result = backend.apply(spec.config)
        context.log.info(f"connector {settings.connector.name}: {result.value} on {backend.kind}")
        applied = {
            "result": result.value,
            "backend": backend.kind,
            "variant": spec.variant.value,
            "flink_sql_variant": spec.flink_sql.value,
            "deprecated": MetadataValue.bool(spec.deprecated),
            "config": MetadataValue.json(redacted(spec.config)),
        }
    view = look(cdc_ops.adapters)
    at = datetime.now(UTC)
    if applied:
        yield MaterializeResult(
            asset_key=CDC_CONNECTOR, metadata={**applied, **connector_metadata(view, at)}
        )
    else:  # only the checks were asked for: what runs now is an observation
        context.log_event(
            AssetObservation(asset_key=CDC_CONNECTOR, metadata=connector_metadata(view, at))
        )
    selected = context.selected_asset_check_keys
    if check_key(CDC_CONNECTOR, CONNECTOR_CHECK) in selected:
        yield check_result(CDC_CONNECTOR, CONNECTOR_CHECK, view.health())
    if check_key(CDC_CONNECTOR, CONNECTOR_LAG_CHECK) in selected and view.metrics is not None:
        lag = connector_lag_health(view.metrics, settings.thresholds.connector_lag_warn_ms)
        yield check_result(
            CDC_CONNECTOR, CONNECTOR_LAG_CHECK, on_purpose_health(lag, view.on_purpose)
        )
