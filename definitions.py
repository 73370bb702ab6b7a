"""The Dagster code location: assets, jobs, schedules and sensors, with resources from settings."""

from __future__ import annotations

from dagster import Definitions

from assets import build_assets, build_checks, build_jobs
from assets.resources import CdcOpsResource
from cdc_ops.settings import load_settings
from schedules import build_schedules
from sensors import build_sensors

settings = load_settings()

defs = Definitions(
    assets=build_assets(settings),
    asset_checks=build_checks(),
    jobs=build_jobs(),
    schedules=build_schedules(settings),
    sensors=build_sensors(settings),
    resources={"cdc_ops": CdcOpsResource()},
)
