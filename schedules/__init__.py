"""Schedules: the pipeline's regular observation, the canary and the hourly auto-stop."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, Definitions, ScheduleDefinition

from assets import OBSERVE_EVERY_MINUTES, OBSERVE_PIPELINE_JOB
from assets.latency import LATENCY_JOB
from assets.lifecycle import AUTO_STOP_JOB
from cdc_ops.settings import Settings


def build_defs(settings: Settings) -> Definitions:
    return Definitions(
        schedules=[
            ScheduleDefinition(
                name="observe_pipeline_every_5_minutes",
                job_name=OBSERVE_PIPELINE_JOB,
                cron_schedule=f"*/{OBSERVE_EVERY_MINUTES} * * * *",
                default_status=DefaultScheduleStatus.RUNNING,
                description="Keeps every asset's observation and health checks, and "
                "pipeline_health, fresh.",
            ),
            ScheduleDefinition(
                name="pipeline_latency_canary",
                job_name=LATENCY_JOB,
                cron_schedule=f"*/{settings.canary.interval_minutes} * * * *",
                # on by default locally; in aws only once canary.enabled is set
                default_status=(
                    DefaultScheduleStatus.RUNNING
                    if settings.canary.enabled
                    else DefaultScheduleStatus.STOPPED
                ),
                description="Every canary.interval_minutes, one canary event per route through "
                "the producer API, timed to its filtered topic (pipeline_latency/*).",
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
                description="Stops the Aurora cluster after auto_stop.inactivity_window_h "
                "without API requests (test environments only; never prod).",
            ),
        ]
    )
