"""Alert on every failed run of this code location."""

from dagster import DefaultSensorStatus, RunFailureSensorContext, run_failure_sensor

from assets.pipeline import HEALTH_TAG
from assets.resources import CdcOpsResource
from cdc_ops.alerts.delivery import Alert, Notification, Severity, runbook_link
from cdc_ops.clock import utc_now


def run_failure_alert(job_name: str, run_id: str, message: str, runbook: str) -> Alert:
    return Alert(
        source="run_failure",
        key=f"run_failure/{job_name}/{run_id}",
        severity=Severity.CRITICAL,
        summary=f"Dagster run of {job_name} failed",
        details=message,
        values={"job": job_name, "run_id": run_id},
        runbook=runbook,
    )


@run_failure_sensor(
    name="run_failure_alerts",
    default_status=DefaultSensorStatus.RUNNING,
    description="Sends an alert for any failed run of this code location.",
)
def run_failure_alerts(context: RunFailureSensorContext, cdc_ops: CdcOpsResource) -> None:
    adapters = cdc_ops.adapters
    settings = adapters.settings
    run = context.dagster_run
    if run.tags.get(HEALTH_TAG) == "unhealthy":
        # the observation ran and found the pipeline unhealthy: the part's own sensor pages for
        # that (cluster, slot, connector, proxy), not a new page every 5 minutes
        context.log.info(f"{run.job_name} {run.run_id}: the pipeline is unhealthy; not paged here")
        return
    message = context.failure_event.message or "run failed"
    alert = run_failure_alert(
        run.job_name, run.run_id, message, runbook_link(settings, "dagster-run-failed")
    )
    adapters.alerter.send([Notification("event", alert, utc_now())])
