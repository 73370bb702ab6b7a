"""Page when the cluster is down and cdc-ops did not stop it; stay quiet for a stop cdc-ops made
on purpose. Once the cluster is available again after such a stop (started by the start job, the
auto-start on demand, or anything else), resume the connector cdc-ops stopped for it, and alert if
the slot is not active again within `connector.resume_timeout_s`. Every tick reports the
cluster's state and `cluster_available` check to the UI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from assets.cluster import cluster_events
from cdc_ops.adapters import Adapters
from cdc_ops.cluster.connector_hold import resume_decision
from cdc_ops.connector.backends import ConnectorError
from cdc_ops.health.verdicts import cluster_down_alerts
from cdc_ops.settings import Settings
from cdc_ops.slot.reading import observe_slot
from sensors.factory import Verdict, alert_sensor


def cluster_availability_verdict(
    adapters: Adapters, memory: dict[str, Any], now: datetime
) -> Verdict:
    settings = adapters.settings
    state = adapters.cluster_observer.observe()
    alerts = cluster_down_alerts(state, settings.alerts.runbook_base_url)
    summary = f"cluster {state.cluster_id}: {state.status}"
    resumed_at = memory.get("connector_resumed_at")
    resumed = datetime.fromisoformat(resumed_at) if resumed_at else None
    # the slot is read only while a resume waits for it
    slot_active = observe_slot(settings).active if resumed is not None else None
    decision = resume_decision(
        state,
        slot_active,
        resumed,
        now,
        settings.connector.resume_timeout_s,
        settings.alerts.runbook_base_url,
    )
    hold = adapters.cluster_controller.hold if decision.resume else None
    resumed = False
    if hold is not None:
        try:
            summary += f"; {hold.resume(state)}"
            resumed = True
        except ConnectorError as exc:  # the worker does not answer: the next tick tries again
            summary += f"; the connector could not be resumed yet ({exc})"
    elif decision.says:
        summary += f"; {decision.says}"
    waiting = decision.resumed_at if resumed or not decision.resume else None
    memory = {"connector_resumed_at": waiting.isoformat() if waiting else None}
    return Verdict([*alerts, *decision.alerts], memory, cluster_events(state, now), summary)


def build_cluster_availability_sensor(settings: Settings):
    return alert_sensor(
        "cluster_availability",
        cluster_availability_verdict,
        settings.alerts.sensor_interval_s,
        "Critical alert when the Aurora cluster is not available and cdc-ops did not stop it "
        "(a stop by hand, a failure); none for a stop cdc-ops made on purpose. Resumes the CDC "
        "connector cdc-ops stopped with the cluster once it is available, and alerts if the "
        "slot is not active again within connector.resume_timeout_s.",
    )
