"""The Dagster code location: assets/, sensors/ and schedules/ each export their definitions;
this file only merges them and binds the resource."""

from __future__ import annotations

from dagster import Definitions

import assets
import schedules
import sensors
from assets.resources import CdcOpsResource
from cdc_ops.settings import Settings, load_settings


def build_defs(settings: Settings) -> Definitions:
    graph = assets.build_defs(settings)
    return Definitions.merge(
        graph,
        # the freshness checks' own sensor evaluates them
        sensors.build_defs(settings, list(graph.asset_checks or [])),
        schedules.build_defs(settings),
        Definitions(resources={"cdc_ops": CdcOpsResource()}),
    )


settings = load_settings()
defs = build_defs(settings)
