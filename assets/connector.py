"""The CDC source connector: materializing applies its configuration; a check says whether the
connector and all its tasks run; the connector-health sensor observes it on every tick."""

import warnings

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetObservation,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from assets.keys import CDC_CONNECTOR, REPLICATION_SLOT
from assets.resources import CdcOpsResource
from cdc_ops.connector.backends import ConnectorStatus, connector_backend
from cdc_ops.connector.config import redacted, render


def status_metadata(status: ConnectorStatus) -> dict[str, object]:
    return {
        "state": status.state,
        "tasks": MetadataValue.json(
            [{"id": t.id, "state": t.state, "worker": t.worker_id} for t in status.tasks]
        ),
        "healthy": MetadataValue.bool(status.healthy),
        "error": (status.trace or next((t.trace for t in status.tasks if t.trace), ""))[:1000],
    }


def connector_observation(status: ConnectorStatus, **extra: object) -> AssetObservation:
    return AssetObservation(asset_key=CDC_CONNECTOR, metadata={**status_metadata(status), **extra})


@asset(
    key=CDC_CONNECTOR,
    deps=[REPLICATION_SLOT],
    group_name="cdc",
    description="The Debezium PostgreSQL connector (Kafka Connect, Confluent Cloud, or the local "
    "embedded engine): materialize to apply its configuration, idempotently.",
)
def cdc_connector(context: AssetExecutionContext, cdc_ops: CdcOpsResource) -> MaterializeResult:
    settings = cdc_ops.settings()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = render(settings)
    for warning in caught:
        context.log.warning(str(warning.message))
    backend = connector_backend(settings)
    result = backend.apply(spec.config)
    context.log.info(f"connector {settings.connector.name}: {result.value} on {backend.kind}")
    return MaterializeResult(
        metadata={
            "result": result.value,
            "backend": backend.kind,
            "variant": spec.variant.value,
            "flink_sql_variant": spec.flink_sql.value,
            "deprecated": MetadataValue.bool(spec.deprecated),
            "config": MetadataValue.json(redacted(spec.config)),
            **status_metadata(backend.status()),
        }
    )


@asset_check(asset=CDC_CONNECTOR, description="The connector and all of its tasks are RUNNING.")
def connector_running(cdc_ops: CdcOpsResource) -> AssetCheckResult:
    status = connector_backend(cdc_ops.settings()).status()
    return AssetCheckResult(
        passed=status.healthy,
        severity=AssetCheckSeverity.ERROR,
        metadata=status_metadata(status),
    )
