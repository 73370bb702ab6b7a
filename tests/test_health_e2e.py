"""The UI tells the truth, through Dagster's GraphQL API against the real local stack: every
health check and pipeline_health pass on a healthy pipeline; a cluster stopped by hand (outside
cdc-ops) fails them and pages, and the page resolves after the start; a stopped connector with
writes going on raises the retained-WAL alert from the registered slot_lag sensor. The
connector's jobs act on the real worker and record their reason; a stop by cdc-ops pauses the
connector, its checks warn with the stop's time and reason, nobody is paged, and after the start
(on demand or by the job) the connector streams again with nothing lost or doubled."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from cdc_ops.adapters import Adapters
from cdc_ops.clients.postgres import connect
from cdc_ops.slot.reading import observe_slot
from cdc_ops.tools.stack import Stack
from cdc_ops.tools.stack.scratch import free_ports
from tests.dagster_ui import DagsterUi, WebhookRecorder
from tests.helpers import run_cli, start_api_server
from tests.lambdas.test_producer_api_e2e import CountingAutoStarter, build_api, call, loan_event
from tests.test_cdc_e2e import raw_records

pytestmark = pytest.mark.e2e

WARN_BYTES = 16 * 1024**2
# the auto-stop's inactivity window for the one auto-stop command a test runs
IDLE_WINDOW_S = 5
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
        # pipeline_health shows each route's last canary verdict and sends no canary itself (a
        # scheduled one may have met an earlier test's paused connector): measure, then observe
        assert ui.run("measure_pipeline_latency")["status"] == "SUCCESS", ui.tail()
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
    # 17 parts and a latency row per route (the canary is on locally)
    assert len(table) == 21 and all(row["healthy"] for row in table)


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


CONNECTOR_OBSERVATIONS = """
query($k: AssetKeyInput!) { assetOrError(assetKey: $k) { ... on Asset {
  assetObservations(limit: 30) { runId metadataEntries { label
    ... on TextMetadataEntry { text } ... on IntMetadataEntry { intValue }
    ... on FloatMetadataEntry { floatValue } ... on BoolMetadataEntry { boolValue } } } } } }
"""


def connector_observation(ui: DagsterUi, run_id: str) -> dict[str, object]:
    """The observation of cdc_connector a run recorded (the sensors record theirs too): label ->
    value."""
    observations = ui.query(CONNECTOR_OBSERVATIONS, k={"path": ["cdc_connector"]})["assetOrError"][
        "assetObservations"
    ]
    (latest,) = [o for o in observations if o["runId"] == run_id][:1]
    out: dict[str, object] = {"run_id": latest["runId"]}
    for e in latest["metadataEntries"]:
        values = [e.get(k) for k in ("text", "intValue", "floatValue", "boolValue") if k in e]
        out[e["label"]] = values[0] if values else None
    return out


def connector_action(ui: DagsterUi, job: str, reason: str, **config: object) -> dict:
    """Launch an action job with its reason; its status, tags and run id."""
    op = f"{job}_op"
    run_id = ui.launch(job, {"ops": {op: {"config": {"reason": reason, **config}}}})
    return {**ui.wait(run_id), "run_id": run_id}


def test_connector_actions_through_the_jobs_record_their_reason(
    ui: DagsterUi, local_stack: Stack
) -> None:
    backend = Adapters(local_stack.settings).connector_backend
    steps = [
        ("pause_connector", "test: maintenance window", "PAUSED", "PAUSED"),
        ("pause_connector", "test: pause again", "PAUSED", "already PAUSED"),
        ("resume_connector", "test: maintenance over", "RUNNING", "RUNNING"),
        ("stop_connector", "test: before an offsets reset", "STOPPED", "STOPPED"),
        ("resume_connector", "test: back", "RUNNING", "RUNNING"),
        ("restart_connector", "test: restart", "RUNNING", "RUNNING"),
    ]
    try:
        for job, reason, state, outcome in steps:
            run = connector_action(ui, job, reason)
            assert run["status"] == "SUCCESS", ui.tail()
            assert backend.status().state == state
            seen = connector_observation(ui, run["run_id"])
            assert (seen["last_action_reason"], seen["state"]) == (reason, state)
            assert seen["last_action_outcome"] == outcome
        assert ui.run("show_connector_offsets")["status"] == "SUCCESS"
        # the restart with failed_only leaves a healthy connector alone and says so
        run = connector_action(ui, "restart_connector", "test: only failed", failed_only=True)
        assert run["status"] == "SUCCESS"
        assert connector_observation(ui, run["run_id"])["last_action_outcome"] == (
            "nothing failed: connector and tasks RUNNING"
        )
    finally:
        backend.resume()


def test_resetting_offsets_stops_resets_and_resumes(ui: DagsterUi, local_stack: Stack) -> None:
    settings = local_stack.settings
    backend = Adapters(settings).connector_backend
    before = backend.offsets()
    assert before and "lsn" in before[0]["offset"]
    uid = f"evt-reset-{uuid.uuid4().hex[:8]}"
    api = build_api(settings, CountingAutoStarter())
    assert call(api, "POST", "/api/v1/events", loan_event(uid))[0] == 201
    assert raw_records(settings, {uid}, timeout_s=30)[uid][0]["__op"] == "c"
    run = connector_action(ui, "reset_connector_offsets", "test: re-read from scratch")
    assert run["status"] == "SUCCESS", ui.tail()
    seen = connector_observation(ui, run["run_id"])
    assert (seen["last_action"], seen["last_action_outcome"]) == ("reset-offsets", "RUNNING")
    assert backend.status().healthy
    # no offsets: snapshot.mode=initial snapshots the table again, every row as a read
    again = raw_records(settings, {uid}, timeout_s=60, per_id=2)[uid]
    assert [r["__op"] for r in again[:2]] == ["c", "r"]


def test_a_stop_by_cdc_ops_stops_the_connector_loses_nothing_and_pages_nobody(
    ui: DagsterUi, local_stack: Stack, webhook: WebhookRecorder
) -> None:
    settings = local_stack.settings
    adapters = Adapters(settings)
    backend = adapters.connector_backend
    since = len(webhook.alerts)
    before = [f"evt-hold-before-{uuid.uuid4().hex[:8]}" for _ in range(5)]
    api = build_api(settings, CountingAutoStarter())
    for uid in before:
        assert call(api, "POST", "/api/v1/events", loan_event(uid))[0] == 201

    # the auto-stop, with its window shortened for this one command: idle, so it stops
    time.sleep(IDLE_WINDOW_S + 1)
    idle = {
        **os.environ,
        "CDC_OPS_AUTO_STOP__INACTIVITY_WINDOW_H": str(IDLE_WINDOW_S / 3600),
        "CDC_OPS_AUTO_STOP__METRIC_PERIOD_S": "1",
    }
    done = run_cli("cluster", "auto-stop", "-o", "json", env=idle)
    assert done.returncode == 0, done.stderr
    stopped = json.loads(done.stdout)
    assert (stopped["action"], stopped["outcome"]) == ("stop", "stopped"), stopped
    # stopped, not paused: a paused task keeps its walsender, which holds up PostgreSQL's shutdown
    assert stopped["result"]["connector"] == "connector stopped"
    assert backend.status().state == "STOPPED"
    state = adapters.cluster_observer.observe()
    assert (state.status, state.connector_action.action) == ("stopped", "stopped")

    observed = ui.run("observe_pipeline")
    # only warnings: the run succeeds, pipeline_health says unhealthy without paging
    assert (observed["status"], observed["tags"]["cdc-ops/health"]) == ("SUCCESS", "unhealthy")
    checks = ui.checks()
    for key in (("replication_slot", "slot_present"), ("cdc_connector", "connector_running")):
        evaluation = checks[key]["evaluation"]
        assert evaluation["severity"] == "WARN", (key, evaluation)
        assert "stopped on purpose by cdc-ops at" in evaluation["description"]
        assert (
            f"reason: auto-stop: no API request in the last {IDLE_WINDOW_S}s"
            in (evaluation["description"])
        )
    time.sleep(12)  # two ticks of every 5 s alert sensor with the cluster stopped

    # the API answers 503 and starts the cluster (auto-start on demand); the retries land
    (port,) = free_ports(1)
    proc, url = start_api_server(settings.state_dir, port)
    during: list[str] = []
    try:
        for _ in range(5):
            uid = f"evt-hold-during-{uuid.uuid4().hex[:8]}"
            deadline = time.monotonic() + 60
            while (status := post_loan(url, uid)) != 201:
                assert status == 503 and time.monotonic() < deadline, status
                time.sleep(0.5)
            during.append(uid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    # the cluster_availability sensor sees it available and resumes the connector
    deadline = time.monotonic() + 90
    while not (backend.status().healthy and observe_slot(settings).active):
        assert time.monotonic() < deadline, backend.status()
        time.sleep(1)
    assert adapters.cluster_observer.observe().connector_action.action == "resumed"
    after = [f"evt-hold-after-{uuid.uuid4().hex[:8]}" for _ in range(5)]
    for uid in after:
        assert call(api, "POST", "/api/v1/events", loan_event(uid))[0] == 201
    ids = {*before, *during, *after}
    found = raw_records(settings, ids, timeout_s=60)
    assert {i: len(found.get(i, [])) for i in ids} == dict.fromkeys(ids, 1)

    # the start job resumes what the stop job stopped, and confirms the slot is active
    assert connector_action(ui, "stop_cluster", "test: second stop")["status"] == "SUCCESS"
    assert backend.status().state == "STOPPED"
    assert connector_action(ui, "start_cluster", "test: morning")["status"] == "SUCCESS"
    assert backend.status().healthy and observe_slot(settings).active
    observe_until_healthy(ui, timeout_s=120)
    pages = [a for a in webhook.alerts[since:] if a["kind"] == "firing"]
    assert pages == []


def test_the_snapshot_job_completes_and_records_its_reason(
    ui: DagsterUi, local_stack: Stack
) -> None:
    settings = local_stack.settings
    uid = f"evt-snap-job-{uuid.uuid4().hex[:8]}"
    api = build_api(settings, CountingAutoStarter())
    assert call(api, "POST", "/api/v1/events", loan_event(uid))[0] == 201
    run = connector_action(ui, "snapshot_connector", "test: rebuild a consumer", timeout_s=180)
    assert run["status"] == "SUCCESS", ui.tail()
    seen = connector_observation(ui, run["run_id"])
    assert (seen["last_action"], seen["last_action_reason"]) == (
        "snapshot",
        "test: rebuild a consumer",
    )
    assert str(seen["last_action_outcome"]).startswith("snapshot completed: ")
    assert seen["snapshot_signal_id"]
    found = raw_records(settings, {uid}, timeout_s=60, per_id=2)[uid]
    assert [r["__op"] for r in found[:2]] == ["c", "r"]


def post_loan(url: str, uid: str) -> int:
    return httpx.post(f"{url}/api/v1/events", json=loan_event(uid), timeout=30).status_code
