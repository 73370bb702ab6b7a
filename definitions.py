"""The Dagster code location: assets, jobs, schedules and sensors, with resources from settings."""

from __future__ import annotations

import warnings

from dagster import BetaWarning, Definitions

from assets import build_assets, build_jobs
from assets.resources import CdcOpsResource
from cdc_ops.settings import load_settings
from schedules import build_schedules
from sensors import build_sensors

# multi_observable_source_asset and AssetSelection.all(include_sources=...) are marked beta; the
# warning repeats on every load and says nothing an operator can act on.
warnings.filterwarnings("ignore", category=BetaWarning)

settings = load_settings()

defs = Definitions(
    assets=build_assets(settings),
    jobs=build_jobs(),
    schedules=build_schedules(),
    sensors=build_sensors(),
    resources={"cdc_ops": CdcOpsResource()},
)
