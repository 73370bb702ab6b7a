"""The canary for real, through Dagster's GraphQL API against the real local stack: the
measure_pipeline_latency job times a canary on every route (each pipeline_latency/<route>
materialized with its figures, its check passing); with one route's statement stopped, that
route's check fails as dropped and the others pass; pipeline_health carries each route's latest
verdict ("not measured" before any); no canary row is left in PostgreSQL, and no canary delete
reaches a filtered topic, not even one of a route that passes deletes (while a business event's
delete does)."""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from cdc_ops.adapters import Adapters
from cdc_ops.canary.marker import is_canary
from cdc_ops.clients.postgres import connect
from cdc_ops.filters.files import FILTERS_FILE
from cdc_ops.filters.model import load_filters
from cdc_ops.flink.deploy import redeploy_filters
from cdc_ops.kafka.topics import client_config
from cdc_ops.settings import Settings
from cdc_ops.tools.stack import Stack
from tests.dagster_ui import DagsterUi
from tests.lambdas.test_producer_api_e2e import CountingAutoStarter, build_api, call, loan_event

pytestmark = pytest.mark.e2e

ROUTES = [f.name for f in load_filters(FILTERS_FILE).active]
STOPPED_ROUTE = "car_created"
STOPPED_STATEMENT = "cdc-filter-car-created"
TIMEOUT_S = 20
# a route of more than inserts, beside the shipped ones: deletes of business events pass it
PROBE = """
  - name: canary_delete_probe
    description: every operation of every event (the canary e2e test)
    outputTopic: canary-delete-probe
    operations: [c, u, d]
    match: all
    conditions:
      - field: id
        operator: isNotNull
"""
PROBE_STATEMENT = "cdc-filter-canary-delete-probe"
CHECK = """
query($k: AssetKeyInput!) {
  assetCheckExecutions(assetKey: $k, checkName: "latency_within_threshold", limit: 10) {
    runId status evaluation { description severity }
  }
}"""
MATERIALIZATIONS = """
query($k: AssetKeyInput!) {
  assetOrError(assetKey: $k) { ... on Asset { assetMaterializations(limit: 10) {
    runId metadataEntries { label __typename
      ... on FloatMetadataEntry { floatValue } ... on TextMetadataEntry { text } } } } }
}"""
HOPS = (
    "api_to_table_ms",
    "table_to_connector_ms",
    "connector_to_raw_ms",
    "raw_to_filtered_ms",
    "filtered_to_read_ms",
)


@pytest.fixture(scope="module")
def ui(local_stack: Stack) -> Iterator[DagsterUi]:
    home = tempfile.mkdtemp(prefix="cdc-ops-test-canary-home-")
    env = {"CDC_OPS_DAGSTER__HOME": home, "CDC_OPS_CANARY__TIMEOUT_S": str(TIMEOUT_S)}
    dagster = DagsterUi(env, local_stack.settings.state_dir / "logs" / "canary-ui.log")
    yield dagster
    assert dagster.stop() == 0, dagster.tail()


class TopicLog:
    """Everything written to these topics from now on, read back when asked."""

    def __init__(self, settings: Settings, topics: list[str]) -> None:
        self.consumer = Consumer(
            {
                **client_config(settings),
                "group.id": f"t-canary-{uuid.uuid4().hex[:6]}",
                "enable.auto.commit": False,
            }
        )
        self.start = []
        for topic in topics:
            partitions = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
            for p in partitions:
                _, high = self.consumer.get_watermark_offsets(TopicPartition(topic, p), 10)
                self.start.append(TopicPartition(topic, p, high))

    def records(self) -> list[tuple[str, dict]]:
        ends = {
            (tp.topic, tp.partition): self.consumer.get_watermark_offsets(tp, 10)[1]
            for tp in self.start
        }
        self.consumer.assign(self.start)
        out, left = [], {k for k, end in ends.items() if end > 0}
        at = {(tp.topic, tp.partition): tp.offset for tp in self.start}
        left = {k for k in left if at[k] < ends[k]}
        deadline = time.monotonic() + 60
        while left and time.monotonic() < deadline:
            message = self.consumer.poll(0.5)
            if message is None or message.error():
                continue
            where = (message.topic(), message.partition())
            if message.value():
                out.append((message.topic(), json.loads(message.value())))
            if message.offset() + 1 >= ends[where]:
                left.discard(where)
        assert not left, f"could not read to the end of {left}"
        return out

    def close(self) -> None:
        self.consumer.close()


def latency_run(ui: DagsterUi) -> tuple[str, dict[str, dict], dict[str, dict]]:
    """One measure_pipeline_latency run: its id, each route's check and metadata."""
    run_id = ui.launch("measure_pipeline_latency")
    assert ui.wait(run_id, timeout_s=180)["status"] == "SUCCESS", ui.tail()
    checks, metadata = {}, {}
    for route in ROUTES:
        key = {"path": ["pipeline_latency", route]}
        executions = ui.query(CHECK, k=key)["assetCheckExecutions"]
        (checks[route],) = [e for e in executions if e["runId"] == run_id]
        found = ui.query(MATERIALIZATIONS, k=key)["assetOrError"]["assetMaterializations"]
        (entries,) = [m["metadataEntries"] for m in found if m["runId"] == run_id]
        metadata[route] = {
            e["label"]: e.get("floatValue", e.get("text")) for e in entries if e["__typename"]
        }
    return run_id, checks, metadata


def latency_rows(ui: DagsterUi) -> dict[str, dict]:
    assert ui.run("observe_pipeline")["tags"].get("cdc-ops/health"), ui.tail()
    return {r["name"]: r for r in ui.pipeline_health_table() if r["part"] == "latency"}


def rows_left(settings: Settings, ids: list[str]) -> int:
    with connect(settings) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM business_events WHERE id = ANY(%(ids)s))"
            " + (SELECT count(*) FROM event_headers WHERE id = ANY(%(ids)s))"
            " + (SELECT count(*) FROM entities WHERE event_id = ANY(%(ids)s))",
            {"ids": ids},
        ).fetchone()[0]


def test_the_canary_times_every_route_and_fails_the_one_whose_statement_is_stopped(
    ui: DagsterUi, local_stack: Stack, tmp_path: Path
) -> None:
    settings = local_stack.settings
    adapters = Adapters(settings)
    backend = adapters.statement_backend

    # before any canary, pipeline_health shows each route as not measured, never as healthy
    before = latency_rows(ui)
    assert sorted(before) == sorted(ROUTES)
    assert all(r["state"] == "not measured" and not r["healthy"] for r in before.values())

    assert ui.run("redeploy_filters", timeout_s=400)["status"] == "SUCCESS", ui.tail()
    probe_file = tmp_path / "filters.yaml"
    probe_file.write_text(FILTERS_FILE.read_text() + PROBE)
    redeploy_filters(adapters, probe_file, only={PROBE_STATEMENT})
    assert backend.status(PROBE_STATEMENT).phase == "RUNNING"
    filtered = [*settings.names.filtered_topics, "canary-delete-probe"]
    log = TopicLog(settings, [settings.names.raw_topic, *filtered])
    try:
        # a business event and its delete: the probe route passes deletes
        business = f"evt-canary-test-{uuid.uuid4().hex[:8]}"
        api = build_api(settings, CountingAutoStarter())
        assert call(api, "POST", "/api/v1/events", loan_event(business))[0] == 201
        with connect(settings) as conn:
            conn.execute("DELETE FROM business_events WHERE id = %s", (business,))

        _, checks, metadata = latency_run(ui)
        for route in ROUTES:
            assert checks[route]["status"] == "SUCCEEDED", checks[route]
            e2e = metadata[route]["end_to_end_ms"]
            assert isinstance(e2e, float) and e2e > 0, metadata[route]
            hops = [metadata[route][h] for h in HOPS]
            assert all(isinstance(h, float) for h in hops), metadata[route]
            assert abs(sum(hops) - e2e) < 1  # the hops add up to end to end
        canaries = [metadata[r]["canary_id"] for r in ROUTES]
        rows = latency_rows(ui)
        assert all(rows[r]["state"] == "ok" and rows[r]["healthy"] for r in ROUTES), rows

        backend.stop(STOPPED_STATEMENT)
        _, checks, metadata = latency_run(ui)
        failed = checks[STOPPED_ROUTE]
        assert failed["status"] == "FAILED" and failed["evaluation"]["severity"] == "ERROR"
        assert "dropped" in failed["evaluation"]["description"], failed
        assert "reached the raw topic" in failed["evaluation"]["description"], failed
        assert metadata[STOPPED_ROUTE]["end_to_end_ms"] is None
        for route in set(ROUTES) - {STOPPED_ROUTE}:
            assert checks[route]["status"] == "SUCCEEDED", checks[route]
        canaries += [metadata[r]["canary_id"] for r in ROUTES]
        rows = latency_rows(ui)
        assert rows[STOPPED_ROUTE]["state"] == "dropped" and not rows[STOPPED_ROUTE]["healthy"]

        # every canary row deleted, and each delete captured on the raw topic
        assert rows_left(settings, canaries) == 0
        deadline = time.monotonic() + 30
        while True:
            records = log.records()
            deleted = {
                r["id"]
                for t, r in records
                if t == settings.names.raw_topic and r.get("__op") == "d"
            }
            if set(canaries) <= deleted or time.monotonic() > deadline:
                break
            time.sleep(2)
        assert set(canaries) <= deleted and business in deleted
        on_routes = [(t, r) for t, r in records if t in filtered]
        # the probe route passes a business delete, and canary inserts, but no canary delete
        assert any(r["id"] == business and r["__op"] == "d" for _, r in on_routes)
        assert {r["id"] for t, r in on_routes if t == "canary-delete-probe"} >= set(canaries)
        canary_ops = {(t, r["__op"]) for t, r in on_routes if is_canary(r["id"])}
        assert canary_ops and all(op == "c" for _, op in canary_ops), canary_ops
    finally:
        log.close()
        backend.stop(PROBE_STATEMENT)
        # the statements as filters.yaml has them again
        assert ui.run("redeploy_filters", timeout_s=400)["status"] == "SUCCESS", ui.tail()
    assert sorted(backend.names()) == sorted(f"cdc-filter-{r.replace('_', '-')}" for r in ROUTES)
