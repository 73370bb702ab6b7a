"""Alert on the replication slot: retained WAL, wal_status, inactivity, a missing slot."""

import json
from datetime import datetime

from dagster import DefaultSensorStatus, SensorEvaluationContext, SensorResult, sensor

from assets.resources import CdcOpsResource
from cdc_ops.alerts import Alerter, Notification, state_from_json, state_to_json
from cdc_ops.cluster_control import utc_now
from cdc_ops.connector.backends import ABSENT, connector_backend
from cdc_ops.replication_slot import observe_slot
from cdc_ops.settings import Settings
from cdc_ops.slot_health import slot_verdict


def slot_lag_tick(cursor: str | None, settings: Settings, alerter: Alerter | None = None
                  ) -> tuple[str | None, list[Notification]]:  # fmt: skip
    previous = json.loads(cursor) if cursor else {}
    now = utc_now()
    slot = observe_slot(settings)
    since = previous.get("inactive_since")
    configured = connector_backend(settings).status().state != ABSENT
    verdict = slot_verdict(slot, now, datetime.fromisoformat(since) if since else None,
                           configured, settings.thresholds,
                           settings.alerts.runbook_base_url)  # fmt: skip
    if verdict.skipped:  # the database does not answer: nothing is known about the slot
        return cursor, []
    alerter = alerter or Alerter(settings)
    notifications, _, state = alerter.tick(
        state_from_json(previous.get("alerts")), verdict.alerts, now
    )
    next_cursor = json.dumps({
        "alerts": state_to_json(state),
        "inactive_since": verdict.inactive_since.isoformat() if verdict.inactive_since else None,
    })  # fmt: skip
    return next_cursor, notifications


@sensor(
    name="slot_lag",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Retained WAL over 1 GiB (warn) / 10 GiB (critical), wal_status unreserved or "
    "lost, the slot inactive too long, or missing while a connector is configured.",
)
def slot_lag(context: SensorEvaluationContext, cdc_ops: CdcOpsResource):
    cursor, notifications = slot_lag_tick(context.cursor, cdc_ops.settings())
    for n in notifications:
        context.log.info(f"{n.kind}: {n.alert.summary}")
    return SensorResult(cursor=cursor)
