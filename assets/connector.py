"""The CDC source connector. Materializing applies its configuration (idempotently) and checks
it in the same op; `connector_running` says whether it and every task run. The connector_health
sensor and the pipeline observation report its state on every tick, so it is never a stale
snapshot of the last apply."""

import warnings
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

from assets.health import check_evaluation, check_key, check_result, observed_at
from assets.keys import CDC_CONNECTOR, CONNECTOR_CHECK, REPLICATION_SLOT
from assets.resources import CdcOpsResource
from cdc_ops.connector.backends import ConnectorStatus
from cdc_ops.connector.config import redacted, render
from cdc_ops.health.verdicts import connector_health

connector_check_spec = AssetCheckSpec(
    CONNECTOR_CHECK,
    asset=CDC_CONNECTOR,
    description="The connector and every one of its tasks are RUNNING.",
)


def connector_metadata(status: ConnectorStatus, at: datetime) -> dict[str, Any]:
    return {
        "state": status.state,
        "tasks": MetadataValue.json(
            [{"id": t.id, "state": t.state, "worker": t.worker_id} for t in status.tasks]
        ),
        "healthy": MetadataValue.bool(status.healthy),
        "error": (status.trace or next((t.trace for t in status.tasks if t.trace), ""))[:1000],
        "health": connector_health(status).says,
        **observed_at(at),
    }


def connector_events(status: ConnectorStatus, at: datetime, **extra: Any) -> list:
    """The observation and its check, for the sensor and the pipeline observation."""
    return [
        AssetObservation(
            asset_key=CDC_CONNECTOR, metadata={**connector_metadata(status, at), **extra}
        ),
        check_evaluation(CDC_CONNECTOR, CONNECTOR_CHECK, connector_health(status)),
    ]


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
    check_specs=[connector_check_spec],
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
    status = backend.status()
    at = datetime.now(UTC)
    if applied:
        yield MaterializeResult(
            asset_key=CDC_CONNECTOR, metadata={**applied, **connector_metadata(status, at)}
        )
    else:  # only the check was asked for: what runs now is an observation
        context.log_event(
            AssetObservation(asset_key=CDC_CONNECTOR, metadata=connector_metadata(status, at))
        )
    if check_key(CDC_CONNECTOR, CONNECTOR_CHECK) in context.selected_asset_check_keys:
        yield check_result(CDC_CONNECTOR, CONNECTOR_CHECK, connector_health(status))
