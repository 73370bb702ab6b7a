"""Keep cluster_uptime current: computed as soon as the code location runs (not only at a fixed
minute of the hour), then once an hour."""

from datetime import UTC, datetime

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from assets import UPTIME_JOB
from assets.keys import CLUSTER_UPTIME


def uptime_due(last_at: datetime | None, now: datetime) -> bool:
    """Never computed, or last computed in an earlier hour."""
    return last_at is None or last_at.replace(minute=0, second=0, microsecond=0) < now.replace(
        minute=0, second=0, microsecond=0
    )


@sensor(
    name="cluster_uptime_refresh",
    job_name=UPTIME_JOB,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Recomputes cluster_uptime when it was never computed or not yet this hour.",
)
def cluster_uptime_refresh(context: SensorEvaluationContext):
    now = datetime.now(UTC)
    event = context.instance.get_latest_materialization_event(CLUSTER_UPTIME)
    last = datetime.fromtimestamp(event.timestamp, UTC) if event else None
    if not uptime_due(last, now):
        return SkipReason(f"cluster_uptime already computed at {last:%H:%M} this hour")
    return RunRequest(run_key=f"cluster_uptime-{now:%Y-%m-%dT%H}")
