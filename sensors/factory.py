"""Every alert sensor from one factory: the cursor, the alerter and the logging live here; a
sensor is only its verdict function.

A verdict function gets the adapters (and through them the settings), what its sensor remembered
last tick and the time, reads its component once, and returns the alerts active now, what to
remember, and the observations and check evaluations that read gives the UI. The factory turns
that into notifications (raised once, reminded after the cooldown, resolved) delivered within
`alerts.tick_budget_s`, and a `SensorResult` whose cursor holds both memories.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dagster import (
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from assets.resources import CdcOpsResource
from cdc_ops.adapters import Adapters
from cdc_ops.alerts.delivery import Alert, Alerter, Notification, state_from_json, state_to_json


@dataclass
class Verdict:
    alerts: list[Alert]
    memory: dict[str, Any] = field(default_factory=dict)
    asset_events: list[Any] = field(default_factory=list)
    summary: str = ""
    # nothing is known this tick (the component does not answer): standing alerts are neither
    # repeated nor resolved
    hold: bool = False


VerdictFn = Callable[[Adapters, dict[str, Any], datetime], Verdict]


@dataclass
class Tick:
    result: SensorResult
    notifications: list[Notification]
    summary: str

    @property
    def cursor(self) -> str | None:
        return self.result.cursor


def run_tick(
    verdict_fn: VerdictFn,
    cursor: str | None,
    adapters: Adapters,
    alerter: Alerter | None = None,
    now: datetime | None = None,
) -> Tick:
    """One tick of an alert sensor, apart from Dagster's sensor machinery so tests can drive it."""
    previous = json.loads(cursor) if cursor else {}
    now = now or adapters.clock()
    verdict = verdict_fn(adapters, previous.get("memory") or {}, now)
    standing = state_from_json(previous.get("alerts"))
    if verdict.hold:
        notifications, state = [], standing
    else:
        alerter = alerter or adapters.alerter
        notifications, _deliveries, state = alerter.tick(standing, verdict.alerts, now)
    next_cursor = json.dumps({"alerts": state_to_json(state), "memory": verdict.memory})
    return Tick(
        SensorResult(asset_events=verdict.asset_events, cursor=next_cursor),
        notifications,
        verdict.summary,
    )


def alert_sensor(
    name: str, verdict_fn: VerdictFn, interval_s: int, description: str
) -> SensorDefinition:
    @sensor(
        name=name,
        minimum_interval_seconds=interval_s,
        default_status=DefaultSensorStatus.RUNNING,
        description=description,
    )
    def _alert_sensor(context: SensorEvaluationContext, cdc_ops: CdcOpsResource):
        tick = run_tick(verdict_fn, context.cursor, cdc_ops.adapters)
        if tick.summary:
            context.log.info(tick.summary)
        for n in tick.notifications:
            context.log.info(f"{n.kind}: {n.alert.summary}")
        return tick.result

    return _alert_sensor
