"""The statement assets show what their Flink jobs do, through Dagster's GraphQL API against the
real local stack: after observe_pipeline a statement's observation carries its records as
numbers that grow as events flow, and its materialization carries the runtime too; a statement
whose job fails for real on the local Flink (a cast that fails on every record, so the job
loops through its restarts) fails its statement_running check with Flink's own exception."""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cdc_ops.adapters import Adapters
from cdc_ops.filters.files import compile_for
from cdc_ops.flink.deploy import redeploy_filters
from cdc_ops.tools.stack import Stack
from tests.dagster_ui import DagsterUi
from tests.lambdas.test_producer_api_e2e import CountingAutoStarter, build_api, call, loan_event

pytestmark = pytest.mark.e2e

LOAN = "cdc-filter-loan-created"
LOAN_KEY = ["flink_statements", "cdc_filter_loan_created"]
CAR = "cdc-filter-car-created"
CAR_KEY = ["flink_statements", "cdc_filter_car_created"]

METADATA = """
  metadataEntries { label __typename
    ... on TextMetadataEntry { text } ... on IntMetadataEntry { intValue }
    ... on FloatMetadataEntry { floatValue } ... on BoolMetadataEntry { boolValue }
    ... on TimestampMetadataEntry { timestamp } ... on JsonMetadataEntry { jsonString } }"""
EVENTS = (
    "query($k: AssetKeyInput!) { assetOrError(assetKey: $k) { ... on Asset {"
    f" assetObservations(limit: 20) {{ runId {METADATA} }}"
    f" assetMaterializations(limit: 5) {{ runId {METADATA} }} }} }} }}"
)
CHECK_RUNS = """
query($k: AssetKeyInput!) { assetCheckExecutions(assetKey: $k, checkName: "statement_running",
                            limit: 20) { runId status evaluation { description severity } } }"""


@pytest.fixture(scope="module")
def adapters(local_stack: Stack) -> Iterator[Adapters]:
    """filters.yaml's statements running; put back as filters.yaml has them at the end."""
    adapters = Adapters(local_stack.settings)
    report = redeploy_filters(adapters)
    assert report.ok, report.failed
    yield adapters
    report = redeploy_filters(adapters)
    assert report.ok, report.failed


@pytest.fixture(scope="module")
def ui(local_stack: Stack, adapters: Adapters) -> Iterator[DagsterUi]:
    home = tempfile.mkdtemp(prefix="cdc-ops-test-runtime-home-")
    log = local_stack.settings.state_dir / "logs" / "runtime-ui.log"
    env = {
        "CDC_OPS_DAGSTER__HOME": home,
        # the hourly auto-stop would stop the cluster (no API Gateway traffic here) mid-test
        "CDC_OPS_AUTO_STOP__CRON": "0 0 1 1 *",
    }
    dagster = DagsterUi(env, log)
    yield dagster
    assert dagster.stop() == 0, dagster.tail()


def post_events(local_stack: Stack, kind: str, count: int) -> None:
    api = build_api(local_stack.settings, CountingAutoStarter())
    for _ in range(count):
        event = loan_event(str(uuid.uuid4()))
        event["eventHeader"]["eventName"] = event["eventHeader"]["eventType"] = kind
        status, _, body = call(api, "POST", "/api/v1/events", event)
        assert status in (200, 201), body


def entries(event: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """label -> (metadata type, value)."""
    out = {}
    for e in event["metadataEntries"]:
        keys = ("text", "intValue", "floatValue", "boolValue", "timestamp", "jsonString")
        values = [e[k] for k in keys if k in e]
        out[e["label"]] = (e["__typename"], values[0] if values else None)
    return out


def recorded(ui: DagsterUi, key: list[str], run_id: str, kind: str) -> dict[str, tuple[str, Any]]:
    """The observation (or materialization) of `key` that run recorded."""
    asset = ui.query(EVENTS, k={"path": key})["assetOrError"]
    mine = [e for e in asset[kind] if e["runId"] == run_id]
    assert mine, f"run {run_id} recorded no {kind} of {key}"
    return entries(mine[0])


def observe(ui: DagsterUi, key: list[str]) -> dict[str, tuple[str, Any]]:
    run_id = ui.launch("observe_pipeline")
    run = ui.wait(run_id)
    assert run["tags"].get("cdc-ops/health"), ui.tail()  # the run got as far as the verdict
    return recorded(ui, key, run_id, "assetObservations") | {"_run": ("", run_id)}


def observe_until(ui: DagsterUi, key: list[str], done, timeout_s: float, what: str) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        seen = observe(ui, key)
        if done(seen):
            return seen
        assert time.monotonic() < deadline, f"{what} within {timeout_s}s: {seen}"
        time.sleep(3)


def test_records_out_is_a_number_that_grows_as_events_flow(
    ui: DagsterUi, local_stack: Stack, adapters: Adapters
) -> None:
    job_id = adapters.statement_backend.status(LOAN).job_id
    # just deployed: the JobManager fetches its tasks' metrics every few seconds
    before = observe_until(
        ui, LOAN_KEY, lambda m: m["records_out"][1] is not None, 60, "no records_out"
    )
    assert before["records_out"][0] == "IntMetadataEntry"
    assert before["records_in"][0] == "IntMetadataEntry"
    assert before["records_out_per_s"][0] == "FloatMetadataEntry"
    assert before["uptime_s"][0] == "FloatMetadataEntry" and before["uptime_s"][1] > 0
    assert before["job_id"] == ("TextMetadataEntry", job_id)
    assert before["restarts"] == ("IntMetadataEntry", 0)
    assert before["backpressure_level"][1] in ("ok", "low", "high", None)
    assert before["last_exception"][0] == "NullMetadataEntry"

    sent = 5
    post_events(local_stack, "LoanCreated", sent)
    post_events(local_stack, "CarCreated", 2)  # read by the loan statement, not written by it
    start_out, start_in = before["records_out"][1], before["records_in"][1]
    after = observe_until(
        ui,
        LOAN_KEY,
        lambda m: (
            (m["records_out"][1] or 0) >= start_out + sent
            and (m["records_in"][1] or 0) >= start_in + sent + 2
        ),
        120,
        "records did not grow",
    )
    assert after["records_out"][0] == "IntMetadataEntry"
    # the cars were read and filtered out (a canary event of a route may come on top)
    grew_in = after["records_in"][1] - start_in
    grew_out = after["records_out"][1] - start_out
    assert grew_in - grew_out >= 2
    assert after["last_checkpoint_id"][0] == "IntMetadataEntry"
    assert after["last_checkpoint_at"][0] == "TimestampMetadataEntry"

    # materializing the statement (nothing changed: no redeploy) records the runtime too
    run_id = ui.launch_assets([LOAN_KEY])
    assert ui.wait(run_id)["status"] == "SUCCESS", ui.tail()
    made = recorded(ui, LOAN_KEY, run_id, "assetMaterializations")
    assert made["job_id"] == ("TextMetadataEntry", job_id)
    assert made["records_out"][0] == "IntMetadataEntry"
    assert made["records_out"][1] >= after["records_out"][1]


def test_a_job_failing_at_runtime_fails_its_check_with_flinks_exception(
    ui: DagsterUi, local_stack: Stack, adapters: Adapters
) -> None:
    backend = adapters.statement_backend
    compiled = compile_for(local_stack.settings)
    car = next(s for s in compiled.statements if s.name == CAR)
    # plans and starts (Flink cannot know the cast fails before it meets a record)
    failing = car.insert.replace("WHERE ", "WHERE CAST(`event_name` AS INT) > 0 AND ", 1)
    assert failing != car.insert
    state = backend.deploy(CAR, [compiled.source_ddl, car.sink_ddl], failing)
    assert state.phase == "RUNNING"
    try:
        post_events(local_stack, "CarCreated", 1)
        error = "NumberFormatException: For input string: 'CarCreated'"
        seen = observe_until(
            ui,
            CAR_KEY,
            lambda m: error in (m["last_exception"][1] or ""),
            120,
            "no exception from the JobManager",
        )
        run_id = seen["_run"][1]
        executions = ui.query(CHECK_RUNS, k={"path": CAR_KEY})["assetCheckExecutions"]
        (check,) = [e for e in executions if e["runId"] == run_id]
        assert check["status"] == "FAILED"
        assert check["evaluation"]["severity"] == "ERROR"
        assert error in check["evaluation"]["description"]
        assert check["evaluation"]["description"].startswith(f"{CAR} is ")
        assert seen["restarts"][0] == "IntMetadataEntry" and seen["restarts"][1] >= 1
        assert seen["job_id"] == ("TextMetadataEntry", state.job_id)
        # the healthy statement beside it is unaffected
        loan = recorded(ui, LOAN_KEY, run_id, "assetObservations")
        assert loan["last_exception"][0] == "NullMetadataEntry"
    finally:
        # a job in its restart loop takes no savepoint: cancel it, then filters.yaml's again
        jobmanager = local_stack.settings.flink.jobmanager_url.rstrip("/")
        httpx.patch(f"{jobmanager}/jobs/{state.job_id}?mode=cancel", timeout=30)
        deadline = time.monotonic() + 60
        while httpx.get(f"{jobmanager}/jobs/{state.job_id}", timeout=30).json()["state"] not in (
            "CANCELED",
            "FAILED",
            "FINISHED",
        ):
            assert time.monotonic() < deadline, "the failing job was not cancelled"
            time.sleep(0.5)
        report = redeploy_filters(adapters)
        assert report.ok, report.failed
    assert backend.status(CAR).phase == "RUNNING"
