"""Restart the CDC connector's failed tasks with back-off; alert once restarts do not help."""

import json

from dagster import DefaultSensorStatus, SensorEvaluationContext, SensorResult, sensor

from assets.connector import connector_observation
from assets.resources import CdcOpsResource
from cdc_ops.alerts import Alerter, Notification, state_from_json, state_to_json
from cdc_ops.cluster_control import utc_now
from cdc_ops.connector.backends import connector_backend
from cdc_ops.connector.health import HealthMemory, connector_health
from cdc_ops.settings import Settings


def connector_health_tick(cursor: str | None, settings: Settings, alerter: Alerter | None = None
                          ) -> tuple[SensorResult, list[Notification], str]:  # fmt: skip
    previous = json.loads(cursor) if cursor else {}
    now = utc_now()
    backend = connector_backend(settings)
    status = backend.status()
    c = settings.connector
    decision = connector_health(status, HealthMemory(**previous.get("memory", {})), now,
                                c.max_restarts, c.restart_backoff_cap_s,
                                settings.alerts.runbook_base_url)  # fmt: skip
    if decision.restart:
        status = backend.restart(include_tasks=True, only_failed=True)
    alerter = alerter or Alerter(settings)
    notifications, _, state = alerter.tick(
        state_from_json(previous.get("alerts")), decision.alerts, now
    )
    next_cursor = json.dumps({"alerts": state_to_json(state), "memory": decision.memory.as_dict()})
    observation = connector_observation(status, health=decision.reason,
                                        restarts=decision.memory.restarts)  # fmt: skip
    return (
        SensorResult(asset_events=[observation], cursor=next_cursor),
        notifications,
        decision.reason,
    )


def build_connector_health_sensor(settings: Settings):
    @sensor(
        name="connector_health",
        minimum_interval_seconds=settings.connector.health_interval_s,
        default_status=DefaultSensorStatus.RUNNING,
        description="Restarts failed connector tasks after n*n+n minutes (capped) and alerts "
        "after connector.max_restarts restarts in a row.",
    )
    def connector_health_sensor(context: SensorEvaluationContext, cdc_ops: CdcOpsResource):
        result, notifications, reason = connector_health_tick(context.cursor, cdc_ops.settings())
        context.log.info(reason)
        for n in notifications:
            context.log.info(f"{n.kind}: {n.alert.summary}")
        return result

    return connector_health_sensor
