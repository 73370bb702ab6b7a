"""Evaluate the freshness checks of observed assets: an observation older than twice its
interval fails (WARN), so a stopped schedule or sensor shows on the asset.

Dagster's own `build_sensor_for_freshness_checks` re-evaluates a failed check only after a new
*materialization* (its sensor.py, "case 4"), so an observed asset's check, once failed, would
stay failed for good. This sensor reports the same checks' evaluations itself, from the latest
observation or materialization, whenever a check's state changes; no run is needed.
"""

import json
from datetime import UTC, datetime

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DefaultSensorStatus,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from assets.health import check_evaluation
from cdc_ops.health.verdicts import freshness_health

CHECK = "freshness_check"  # the name Dagster's freshness check definitions carry


def last_update(instance: DagsterInstance, key: AssetKey) -> datetime | None:
    stamps = []
    observed = instance.fetch_observations(AssetRecordsFilter(asset_key=key), limit=1).records
    if observed:
        stamps.append(observed[0].timestamp)
    materialized = instance.get_latest_materialization_event(key)
    if materialized:
        stamps.append(materialized.timestamp)
    return datetime.fromtimestamp(max(stamps), UTC) if stamps else None


def freshness_tick(
    instance: DagsterInstance,
    cursor: str | None,
    max_age_s: dict[AssetKey, float],
    now: datetime,
) -> SensorResult:
    """Report each check whose state (fresh, stale, never observed) changed since the last tick."""
    reported = json.loads(cursor) if cursor else {}
    events = []
    for key, max_age in max_age_s.items():
        name = key.to_user_string()
        health = freshness_health(name, last_update(instance, key), now, max_age)
        if reported.get(name) != health.state:
            events.append(check_evaluation(key, CHECK, health))
            reported[name] = health.state
    return SensorResult(asset_events=events, cursor=json.dumps(reported, sort_keys=True))


def build_freshness_sensor(max_age_s: dict[AssetKey, float]):
    @sensor(
        name="freshness_checks",
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING,
        description="Fails an asset's freshness_check (WARN) when its last observation is older "
        "than twice its interval: a stopped schedule or sensor shows.",
    )
    def freshness_checks(context: SensorEvaluationContext):
        return freshness_tick(context.instance, context.cursor, max_age_s, datetime.now(UTC))

    return freshness_checks
