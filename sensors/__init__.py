"""Alerting sensors: slot lag, proxy saturation, connector health, run failures (issues 5 and 6)."""

from __future__ import annotations

from dagster import SensorDefinition


def build_sensors() -> list[SensorDefinition]:
    return []
