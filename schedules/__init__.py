"""Schedules: the pipeline's regular observation (the hourly auto-stop arrives with issue 4)."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, ScheduleDefinition

from assets import OBSERVE_PIPELINE_JOB


def build_schedules() -> list[ScheduleDefinition]:
    return [
        ScheduleDefinition(
            name="observe_pipeline_every_5_minutes",
            job_name=OBSERVE_PIPELINE_JOB,
            cron_schedule="*/5 * * * *",
            default_status=DefaultScheduleStatus.RUNNING,
            description="Keeps the asset graph's observations (cluster, slot, topics) fresh.",
        )
    ]
