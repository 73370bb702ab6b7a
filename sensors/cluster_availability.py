"""Page when the cluster is down and cdc-ops did not stop it; stay quiet for a stop cdc-ops made
on purpose. Every tick reports the cluster's state and `cluster_available` check to the UI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from assets.cluster import cluster_events
from cdc_ops.adapters import Adapters
from cdc_ops.health.verdicts import cluster_down_alerts
from cdc_ops.settings import Settings
from sensors.factory import Verdict, alert_sensor


def cluster_availability_verdict(
    adapters: Adapters, memory: dict[str, Any], now: datetime
) -> Verdict:
    settings = adapters.settings
    state = adapters.cluster_observer.observe()
    alerts = cluster_down_alerts(state, settings.alerts.runbook_base_url)
    return Verdict(
        alerts, {}, cluster_events(state, now), f"cluster {state.cluster_id}: {state.status}"
    )


def build_cluster_availability_sensor(settings: Settings):
    return alert_sensor(
        "cluster_availability",
        cluster_availability_verdict,
        settings.alerts.sensor_interval_s,
        "Critical alert when the Aurora cluster is not available and cdc-ops did not stop it "
        "(a stop by hand, a failure); none for a stop cdc-ops made on purpose.",
    )
