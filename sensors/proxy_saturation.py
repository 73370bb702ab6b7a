"""Alert when clients wait to borrow a connection from RDS Proxy (PgBouncer locally).

State lives in the sensor cursor: the alerts already raised (for de-duplication, reminders after
the cooldown, and "resolved" messages) and the recent figures the rds_proxy asset shows.
"""

import json

from dagster import (
    DefaultSensorStatus,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from assets.rds_proxy import proxy_observation
from assets.resources import CdcOpsResource
from cdc_ops.alerts import Alerter, state_from_json, state_to_json
from cdc_ops.cluster_control import utc_now
from cdc_ops.proxy_saturation import proxy_reader, saturation_alerts
from cdc_ops.settings import Settings

SENSOR_NAME = "proxy_saturation"


def _compact(f) -> dict:
    return {
        "at": f.observed_at.isoformat(timespec="seconds"),
        "proxy": f.proxy,
        "borrow_latency_ms": f.borrow_latency_ms,
        "borrowed_ratio": f.borrowed_ratio,
        "pinned": f.pinned,
    }


def proxy_saturation_tick(cursor: str | None, settings: Settings, alerter: Alerter | None = None
                          ) -> tuple[SensorResult, list]:  # fmt: skip
    """One tick: read, decide, notify. Returned apart from the sensor so tests can drive it."""
    previous = json.loads(cursor) if cursor else {}
    now = utc_now()
    figures = proxy_reader(settings).read(now)
    alerter = alerter or Alerter(settings)
    active = saturation_alerts(figures, settings.thresholds, settings.alerts.runbook_base_url)
    notifications, deliveries, state = alerter.tick(
        state_from_json(previous.get("alerts")), active, now
    )
    series = (previous.get("series", []) + [_compact(f) for f in figures])[
        -settings.proxy.series_length * len(figures) :
    ]
    next_cursor = json.dumps({"alerts": state_to_json(state), "series": series})
    return SensorResult(asset_events=[proxy_observation(figures, series)],
                        cursor=next_cursor), notifications  # fmt: skip


def build_proxy_saturation_sensor(settings: Settings):
    @sensor(
        name=SENSOR_NAME,
        minimum_interval_seconds=settings.proxy.sensor_interval_s,
        default_status=DefaultSensorStatus.RUNNING,
        description="Borrow wait over 100 ms (warn) / 1 s (critical), borrowed/max at 80 %, any "
        "pinned session: one alert each, a reminder after the cooldown, and a resolved message.",
    )
    def proxy_saturation(context: SensorEvaluationContext, cdc_ops: CdcOpsResource):
        result, notifications = proxy_saturation_tick(context.cursor, cdc_ops.settings())
        for n in notifications:
            context.log.info(f"{n.kind}: {n.alert.summary}")
        return result

    return proxy_saturation
