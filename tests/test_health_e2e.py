"""The UI tells the truth, through Dagster's GraphQL API against the real local stack: every
health check and pipeline_health pass on a healthy pipeline; a cluster stopped by hand (outside
cdc-ops) fails them and pages, and the page resolves after the start; a stopped connector with
writes going on raises the retained-WAL alert from the registered slot_lag sensor."""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from collections.abc import Iterator

import psycopg
import pytest

from cdc_ops.adapters import Adapters
from cdc_ops.clients.postgres import connect
from cdc_ops.slot.reading import observe_slot
from cdc_ops.tools.stack import Stack
from tests.dagster_ui import DagsterUi, WebhookRecorder

pytestmark = pytest.mark.e2e

WARN_BYTES = 16 * 1024**2
ONE_STATEMENT = ["flink_statements", "cdc_filter_car_created"]


@pytest.fixture(scope="module")
def webhook() -> Iterator[WebhookRecorder]:
    recorder = WebhookRecorder()
    yield recorder
    recorder.close()


@pytest.fixture(scope="module")
def ui(local_stack: Stack, webhook: WebhookRecorder) -> Iterator[DagsterUi]:
    home = tempfile.mkdtemp(prefix="cdc-ops-test-health-home-")
    env = {
        "CDC_OPS_DAGSTER__HOME": home,
        "CDC_OPS_ALERTS__DESTINATIONS": '["log", "webhook"]',
        "CDC_OPS_ALERTS__WEBHOOK_URL": webhook.url,
        "CDC_OPS_ALERTS__SENSOR_INTERVAL_S": "5",
        "CDC_OPS_CONNECTOR__HEALTH_INTERVAL_S": "5",
        "CDC_OPS_CONNECTOR__RESTART_BACKOFF_CAP_S": "5",
        "CDC_OPS_CONNECTOR__MAX_RESTARTS": "1000",
        "CDC_OPS_THRESHOLDS__SLOT_LAG_WARN_BYTES": str(WARN_BYTES),
        "CDC_OPS_THRESHOLDS__SLOT_LAG_CRITICAL_BYTES": str(1024**3),
    }
    dagster = DagsterUi(env, local_stack.settings.state_dir / "logs" / "health-ui.log")
    yield dagster
    assert dagster.stop() == 0, dagster.tail()


def failing(checks: dict) -> dict:
    return {
        k: (v or {}).get("evaluation")
        for k, v in checks.items()
        if (v or {}).get("status") != "SUCCEEDED"
    }


def observe_until_healthy(ui: DagsterUi, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        run = ui.run("observe_pipeline")
        checks = ui.checks()
        healthy = run["tags"].get("cdc-ops/health") == "healthy"
        if run["status"] == "SUCCESS" and healthy and not failing(checks):
            return checks
        assert run["tags"].get("cdc-ops/health"), ui.tail()  # the run got as far as the verdict
        assert time.monotonic() < deadline, f"still unhealthy: {failing(checks)}"
        time.sleep(3)


def test_materializing_one_statement_deploys_only_it(ui: DagsterUi, local_stack: Stack) -> None:
    backend = Adapters(local_stack.settings).statement_backend
    for name in backend.names():
        backend.stop(name)
    run_id = ui.launch_assets([ONE_STATEMENT])
    run = ui.wait(run_id)
    assert run["status"] == "SUCCESS", ui.tail()
    assert {n: backend.status(n).phase for n in backend.names()} == {
        "cdc-filter-car-created": "RUNNING"
    }
    # its check ran in the same run, right after the deploy: RUNNING at once (the schedule's
    # observation may report the same check around it, so look for this run's)
    executions = ui.query(
        "query($k: AssetKeyInput!) { assetCheckExecutions(assetKey: $k, "
        'checkName: "statement_running", limit: 20) { runId status evaluation { description } } }',
        k={"path": ONE_STATEMENT},
    )["assetCheckExecutions"]
    (check,) = [e for e in executions if e["runId"] == run_id]
    assert check["status"] == "SUCCEEDED"
    assert check["evaluation"]["description"].startswith("cdc-filter-car-created is RUNNING")


def test_a_healthy_pipeline_passes_every_check(ui: DagsterUi) -> None:
    assert ui.run("redeploy_filters", timeout_s=400)["status"] == "SUCCESS", ui.tail()
    checks = observe_until_healthy(ui, timeout_s=120)
    assert len(checks) >= 20 and all(v is not None for v in checks.values())
    table = ui.pipeline_health_table()
    assert len(table) == 17 and all(row["healthy"] for row in table)


def test_a_cluster_stopped_by_hand_fails_its_checks_and_pages(
    ui: DagsterUi, local_stack: Stack, webhook: WebhookRecorder
) -> None:
    postgres = local_stack.component("postgres")
    pg_ctl = str(local_stack.settings.local.postgres_bin_dir / "pg_ctl")
    stop = [pg_ctl, "-D", str(postgres.data_dir), "stop", "-m", "fast"]
    subprocess.run(stop, user=postgres.run_as, check=True, capture_output=True, timeout=60)
    try:
        run = ui.run("observe_pipeline")
        # the observation ran, found the pipeline unhealthy, and failed pipeline_health (red)
        assert (run["status"], run["tags"]["cdc-ops/health"]) == ("FAILURE", "unhealthy")
        bad = failing(ui.checks())
        cluster = bad[("aurora_cluster", "cluster_available")]
        assert (
            "is stopped; expected available, and cdc-ops did not stop it"
            in (cluster["description"])
        )
        assert cluster["severity"] == "ERROR"
        assert (
            "cluster cdc-streaming-test-aurora is stopped"
            in (bad[("pipeline_health", "pipeline_healthy")]["description"])
        )
        assert [r for r in ui.pipeline_health_table() if not r["healthy"]][0]["part"] == "cluster"
        page = webhook.wait_for(
            lambda a: a["source"] == "cluster_availability" and a["kind"] == "firing", 60, "page"
        )
        # a tick during the shutdown sees it stopping: the page says what it saw
        assert re.fullmatch(
            "Aurora cluster cdc-streaming-test-aurora is (stopping|stopped) and cdc-ops did not"
            " stop it",
            page["summary"],
        ), page["summary"]
    finally:
        # started again through cdc-ops, whatever happened above
        start = ui.run(
            "start_cluster", {"ops": {"start_cluster_op": {"config": {"reason": "test"}}}}
        )
    assert start["status"] == "SUCCESS", ui.tail()
    # the checks pass and the page resolves
    observe_until_healthy(ui, timeout_s=180)
    webhook.wait_for(
        lambda a: a["source"] == "cluster_availability" and a["kind"] == "resolved", 60, "resolve"
    )


def test_a_stopped_connector_raises_the_retained_wal_alert(
    ui: DagsterUi, local_stack: Stack, webhook: WebhookRecorder
) -> None:
    settings = local_stack.settings
    backend = Adapters(settings).connector_backend
    backend.pause()
    try:
        batch = 0
        while (observe_slot(settings).retained_bytes or 0) <= WARN_BYTES:
            assert batch < 200
            with connect(settings) as conn:
                conn.execute(
                    "INSERT INTO cars (id, attributes) SELECT %s || g, jsonb_build_object('pad',"
                    " (SELECT string_agg(md5(random()::text || h), '') FROM generate_series(1, 30)"
                    " h)) FROM generate_series(1, 500) g",
                    (f"health-lag-{batch}-",),
                )
            batch += 1
        firing = webhook.wait_for(
            lambda a: a["key"].endswith("/retained_wal") and a["kind"] == "firing", 60, "alert"
        )
        assert firing["source"] == "slot_lag" and firing["values"]["retained_bytes"] > WARN_BYTES
    finally:
        backend.resume()
    superuser = local_stack.component("postgres").superuser_conninfo()
    deadline = time.monotonic() + 180
    while not [
        a for a in webhook.alerts if a["key"].endswith("/retained_wal") and a["kind"] == "resolved"
    ]:
        assert time.monotonic() < deadline, "the retained-WAL alert never resolved"
        with psycopg.connect(superuser, autocommit=True) as conn:
            conn.execute("CHECKPOINT")  # lets the slot's restart_lsn move on sooner
        time.sleep(3)
