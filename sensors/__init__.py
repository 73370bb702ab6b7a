"""Alerting sensors: proxy saturation and run failures (slot lag and connector health later)."""

from __future__ import annotations

from dagster import SensorDefinition

from cdc_ops.settings import Settings
from sensors.proxy_saturation import build_proxy_saturation_sensor
from sensors.run_failure import run_failure_alerts


def build_sensors(settings: Settings) -> list[SensorDefinition]:
    return [build_proxy_saturation_sensor(settings), run_failure_alerts]
