"""Sensors: the alert sensors (one factory), run failures, freshness, and the uptime refresh."""

from __future__ import annotations

from dagster import (
    AssetChecksDefinition,
    DefaultSensorStatus,
    Definitions,
    build_sensor_for_freshness_checks,
)

from cdc_ops.settings import Settings
from sensors.cluster_availability import build_cluster_availability_sensor
from sensors.connector_health import build_connector_health_sensor
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
            run_failure_alerts,
            cluster_uptime_refresh,
            build_sensor_for_freshness_checks(
                freshness_checks=freshness_checks,
                name="freshness_checks",
                minimum_interval_seconds=60,
                default_status=DefaultSensorStatus.RUNNING,
            ),
        ]
    )
