"""Alert when clients wait to borrow a connection from RDS Proxy (PgBouncer locally), unless
they wait for a database cdc-ops stopped on purpose (or started less than a minute ago).

The sensor's memory keeps the recent figures the rds_proxy asset shows as a short series.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from assets.rds_proxy import proxy_events
from cdc_ops.adapters import Adapters
from cdc_ops.health.reading import cluster_or_none
from cdc_ops.health.verdicts import proxy_waits_on_purpose
from cdc_ops.proxy.saturation import ProxyFigures, saturation_alerts
from cdc_ops.settings import Settings
from sensors.factory import Verdict, alert_sensor

SENSOR_NAME = "proxy_saturation"


def _compact(f: ProxyFigures) -> dict:
    return {
        "at": f.observed_at.isoformat(timespec="seconds"),
        "proxy": f.proxy,
        "borrow_latency_ms": f.borrow_latency_ms,
        "borrowed_ratio": f.borrowed_ratio,
        "pinned": f.pinned,
    }


def proxy_saturation_verdict(adapters: Adapters, memory: dict[str, Any], now: datetime) -> Verdict:
    settings = adapters.settings
    figures = adapters.proxy_reader.read(now)
    active = saturation_alerts(figures, settings.thresholds, settings.alerts.runbook_base_url)
    keep = settings.proxy.series_length * len(figures)
    series = (memory.get("series", []) + [_compact(f) for f in figures])[-keep:]
    # clients waiting for a database cdc-ops stopped on purpose: the stop's doing, no page
    why = proxy_waits_on_purpose(cluster_or_none(adapters), now)
    events = proxy_events(figures, settings.thresholds, now, series, why)
    summary = f"{len(figures)} proxy(ies), {len(active)} alert(s)"
    if why is not None and active:
        summary = f"{summary} not raised: {why}"
        active = []
    return Verdict(active, {"series": series}, events, summary)


def build_proxy_saturation_sensor(settings: Settings):
    return alert_sensor(
        SENSOR_NAME,
        proxy_saturation_verdict,
        settings.proxy.sensor_interval_s,
        "Borrow wait over 100 ms (warn) / 1 s (critical), borrowed/max at 80 %, any pinned "
        "session: one alert each, a reminder after the cooldown, and a resolved message.",
    )
