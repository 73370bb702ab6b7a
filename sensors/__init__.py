"""Sensors: the alert sensors (one factory), run failures, freshness, and the uptime refresh."""

from __future__ import annotations

from dagster import AssetChecksDefinition, AssetKey, Definitions

from cdc_ops.settings import Settings
from sensors.cluster_availability import build_cluster_availability_sensor
from sensors.connector_health import build_connector_health_sensor
from sensors.freshness import CHECK, build_freshness_sensor
from sensors.kafka_data_loss import build_kafka_data_loss_sensor
from sensors.proxy_saturation import build_proxy_saturation_sensor
from sensors.run_failure import run_failure_alerts
from sensors.slot_lag import build_slot_lag_sensor
from sensors.uptime import cluster_uptime_refresh


def build_defs(settings: Settings, freshness_checks: list[AssetChecksDefinition]) -> Definitions:
    return Definitions(
        sensors=[
            build_cluster_availability_sensor(settings),
            build_proxy_saturation_sensor(settings),
            build_slot_lag_sensor(settings),
            build_connector_health_sensor(settings),
            build_kafka_data_loss_sensor(settings),
            run_failure_alerts,
            cluster_uptime_refresh,
            build_freshness_sensor(freshness_windows(freshness_checks)),
        ]
    )


def freshness_windows(checks: list[AssetChecksDefinition]) -> dict[AssetKey, float]:
    """Each freshness check's asset and its window, as Dagster's check definitions record it."""
    return {
        spec.asset_key: spec.metadata["dagster/freshness_params"].value["lower_bound_delta_seconds"]
        for check in checks
        for spec in check.check_specs
        if spec.name == CHECK
    }
