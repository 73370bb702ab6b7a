"""The run-failure sensor sends one alert for a failed run, with its error and runbook link."""

from __future__ import annotations

import json
import logging

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    build_run_status_sensor_context,
    job,
    op,
)

from assets.resources import CdcOpsResource
from sensors.run_failure import run_failure_alerts


@op
def explode() -> None:
    raise RuntimeError("boom: the connector config was rejected")


@job
def doomed() -> None:
    explode()


def fail_and_sense(caplog: pytest.LogCaptureFixture, tags: dict | None = None):
    """Run the doomed job, then the run-failure sensor on its failure."""
    with DagsterInstance.ephemeral() as instance:
        result = doomed.execute_in_process(instance=instance, raise_on_error=False, tags=tags)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type == DagsterEventType.RUN_FAILURE)
        context = build_run_status_sensor_context(
            sensor_name="run_failure_alerts",
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=failure,
            resources={"cdc_ops": CdcOpsResource()},
        ).for_run_failure()
        with caplog.at_level(logging.WARNING, logger="cdc_ops.alerts.delivery"):
            run_failure_alerts(context)
    return result


def test_a_failed_run_raises_one_alert(caplog: pytest.LogCaptureFixture) -> None:
    result = fail_and_sense(caplog)
    (record,) = [r for r in caplog.records if r.name == "cdc_ops.alerts.delivery"]
    body = json.loads(record.getMessage())["alert"]
    assert body["source"] == "run_failure" and body["severity"] == "critical"
    assert body["summary"] == "Dagster run of doomed failed"
    assert body["key"] == f"run_failure/doomed/{result.run_id}"
    assert body["runbook"] == "docs/runbook.md#dagster-run-failed"


def test_an_observation_that_found_the_pipeline_unhealthy_is_not_paged_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fail_and_sense(caplog, tags={"cdc-ops/health": "unhealthy"})
    assert [r for r in caplog.records if r.name == "cdc_ops.alerts.delivery"] == []
