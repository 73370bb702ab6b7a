"""Schedules: the pipeline's regular observation, the hourly auto-stop, and the uptime figures."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, ScheduleDefinition

from assets import OBSERVE_PIPELINE_JOB, UPTIME_JOB
from assets.lifecycle import AUTO_STOP_JOB
from cdc_ops.settings import Settings


def build_schedules(settings: Settings) -> list[ScheduleDefinition]:
    return [
        ScheduleDefinition(
            name="observe_pipeline_every_5_minutes",
            job_name=OBSERVE_PIPELINE_JOB,
            cron_schedule="*/5 * * * *",
            default_status=DefaultScheduleStatus.RUNNING,
            description="Keeps the asset graph's observations (cluster, slot, topics) fresh.",
        ),
        ScheduleDefinition(
            name="auto_stop_hourly",
            job_name=AUTO_STOP_JOB,
            cron_schedule=settings.auto_stop.cron,
            # on by default only where auto-stop may act at all; the decision checks again
            default_status=(
                DefaultScheduleStatus.RUNNING
                if settings.names.environment in settings.auto_stop.environments
                else DefaultScheduleStatus.STOPPED
            ),
            description="Stops the Aurora cluster after auto_stop.inactivity_window_h without "
            "API requests (test environments only; never prod).",
        ),
        ScheduleDefinition(
            name="cluster_uptime_hourly",
            job_name=UPTIME_JOB,
            cron_schedule="30 * * * *",
            default_status=DefaultScheduleStatus.RUNNING,
            description="Recomputes hours running vs stopped and the saving.",
        ),
    ]
