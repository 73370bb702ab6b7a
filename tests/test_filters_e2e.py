"""Routing for real: producer API → PostgreSQL → Debezium on Kafka Connect → raw topic → Flink
statements through the SQL Gateway → filtered topics, checked against the filters evaluated in
Python on the same records; then a changed filter, redeployed, changes the routing; a broken one
leaves the old one running."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition
from dagster import DagsterInstance

from cdc_ops.adapters import Adapters
from cdc_ops.clients.postgres import connect
from cdc_ops.filters.compiler import Target, compile_filters
from cdc_ops.filters.evaluate import matches
from cdc_ops.filters.files import FILTERS_FILE, compile_for
from cdc_ops.filters.model import load_filters
from cdc_ops.flink.deploy import redeploy
from cdc_ops.flink.statements import StatementError
from cdc_ops.kafka.topics import TopicAdmin, client_config
from cdc_ops.tools.stack import Stack
from tests.lambdas.test_producer_api_e2e import CountingAutoStarter, build_api, call, loan_event
from tests.test_cdc_e2e import raw_records

pytestmark = pytest.mark.e2e
TYPES = ["LoanCreated", "LoanPaymentSubmitted", "CarCreated", "CarServiceDone", "Other"]


def read_topics(
    settings,
    topics: list[str],
    ids: set[str],
    quiet_s: float = 5,
    copies: dict[str, dict[str, int]] | None = None,
    expected: dict[str, set] | None = None,
    timeout_s: float = 120,
) -> dict[str, set]:
    """ids seen per topic (and, in `copies`, how often). Reads until every expected id is there
    (or the timeout), then on until nothing new came for quiet_s, to catch extras and copies."""
    consumer = Consumer(
        {**client_config(settings), "group.id": uuid.uuid4().hex, "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(t, p, 0) for t in topics for p in range(3)])
    seen: dict[str, set] = {t: set() for t in topics}
    began = last_new = time.monotonic()

    def waiting_for_expected() -> bool:
        return expected is not None and any(not (v <= seen[t]) for t, v in expected.items())

    try:
        while time.monotonic() - began < timeout_s and (
            waiting_for_expected() or time.monotonic() - last_new < quiet_s
        ):
            message = consumer.poll(0.3)
            if message is None or message.error() or message.value() is None:
                continue
            uid = json.loads(message.value()).get("id")
            if uid in ids:
                if copies is not None:
                    per_topic = copies.setdefault(message.topic(), {})
                    per_topic[uid] = per_topic.get(uid, 0) + 1
                if uid not in seen[message.topic()]:
                    seen[message.topic()].add(uid)
                    last_new = time.monotonic()
    finally:
        consumer.close()
    return seen


def post_mixed_events(local_stack: Stack, tag: str) -> set[str]:
    api = build_api(local_stack.settings, CountingAutoStarter())
    ids = set()
    for i, kind in enumerate(TYPES * 2):
        uid = f"evt-{tag}-{i}"
        event = loan_event(uid)
        event["eventHeader"] |= {"eventType": kind, "eventName": kind}
        assert call(api, "POST", "/api/v1/events", event)[0] == 201
        ids.add(uid)
    with connect(local_stack.settings) as conn:  # updates and deletes must not be routed
        conn.execute(
            "UPDATE business_events SET event_name = event_name WHERE id = %s", (f"evt-{tag}-0",)
        )
        conn.execute("DELETE FROM business_events WHERE id = %s", (f"evt-{tag}-2",))
    return ids


@pytest.fixture(scope="module")
def deployed(local_stack: Stack):
    settings = local_stack.settings
    report = redeploy(
        compile_for(settings), Adapters(settings).statement_backend, TopicAdmin(settings), 3
    )
    assert report.ok, report.failed
    yield settings
    for name in Adapters(settings).statement_backend.names():
        Adapters(settings).statement_backend.stop(name)


def test_every_event_lands_exactly_where_the_filters_say(local_stack: Stack, deployed) -> None:
    settings = deployed
    tag = uuid.uuid4().hex[:8]
    ids = post_mixed_events(local_stack, tag)
    raw = raw_records(settings, ids, timeout_s=60)
    expected: dict[str, set] = {}
    filters = load_filters(FILTERS_FILE).active
    for f in filters:
        expected[f.output_topic] = {
            uid for uid, records in raw.items() for r in records if matches(f, r)
        }
    seen = read_topics(settings, list(expected), ids, expected=expected)
    assert seen == expected
    assert sum(len(v) for v in expected.values()) == 8  # Other x2 goes nowhere


def test_a_changed_filter_redeployed_changes_the_routing(
    local_stack: Stack, deployed, tmp_path: Path
) -> None:
    settings = deployed
    changed = tmp_path / "filters.yaml"
    changed.write_text(
        FILTERS_FILE.read_text().replace(
            "operator: equals\n        value: CarCreated",
            "operator: in\n        value: [CarCreated, Other]",
        )
    )
    backend = Adapters(settings).statement_backend
    before = {n: backend.status(n).detail for n in backend.names()}
    report = redeploy(compile_for(settings, changed), backend, TopicAdmin(settings), 3)
    assert report.ok, report.failed
    assert {c.name: c.action for c in report.changes} == {
        "cdc-filter-loan-created": "unchanged",
        "cdc-filter-loan-payment-submitted": "unchanged",
        "cdc-filter-service-events": "unchanged",
        "cdc-filter-car-created": "replace",
    }
    after = {n: backend.status(n).detail for n in backend.names()}
    assert after["cdc-filter-loan-created"] == before["cdc-filter-loan-created"]  # not touched
    assert after["cdc-filter-car-created"] != before["cdc-filter-car-created"]

    tag = uuid.uuid4().hex[:8]
    ids = post_mixed_events(local_stack, tag)
    copies: dict[str, dict[str, int]] = {}
    topics = [
        "filtered-car-created-events",
        "filtered-loan-created-events",
        "filtered-service-events",
    ]
    wanted = {
        "filtered-car-created-events": {f"evt-{tag}-{i}" for i in (2, 4, 7, 9)},
        "filtered-loan-created-events": {f"evt-{tag}-0", f"evt-{tag}-5"},
        "filtered-service-events": {f"evt-{tag}-3", f"evt-{tag}-8"},
    }
    seen = read_topics(settings, topics, ids, copies=copies, expected=wanted)
    # CarCreated and Other now; the later-deleted one too (its insert is a c)
    assert seen["filtered-car-created-events"] == {f"evt-{tag}-{i}" for i in (2, 4, 7, 9)}
    # the untouched routes: every new event exactly once, none lost, none doubled
    assert copies["filtered-loan-created-events"] == {f"evt-{tag}-0": 1, f"evt-{tag}-5": 1}
    assert copies["filtered-service-events"] == {f"evt-{tag}-3": 1, f"evt-{tag}-8": 1}

    dry = redeploy(compile_for(settings, changed), backend, TopicAdmin(settings), 3, dry_run=True)
    assert {c.action for c in dry.changes} == {"unchanged"} and dry.deployed == {}


def test_a_statement_flink_rejects_leaves_the_previous_one_running(deployed) -> None:
    settings = deployed
    backend = Adapters(settings).statement_backend
    compiled = compile_filters(
        load_filters(FILTERS_FILE),
        Target.APACHE_FLINK,
        settings.names.raw_topic,
        settings.kafka.bootstrap_servers or "",
    )
    statement = compiled.statements[0]
    before = backend.status(statement.name)
    broken = statement.insert.replace("`event_type` =", "`colour` =")
    with pytest.raises(StatementError, match="Column 'colour' not found"):
        backend.deploy(statement.name, [compiled.source_ddl, statement.sink_ddl], broken)
    after = backend.status(statement.name)
    assert (after.phase, after.detail, after.sql) == ("RUNNING", before.detail, before.sql)


def test_redeploy_job_dry_run_reports_the_plan(deployed) -> None:
    from definitions import defs

    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("redeploy_filters").execute_in_process(
            instance=instance,
            run_config={"ops": {"flink_statements": {"config": {"dry_run": True}}}},
        )
        assert result.success
        # a dry run deploys nothing: no materialization, the plan on each statement's observation
        assert result.get_asset_materialization_events() == []
        planned = {
            e.asset_observation_data.asset_observation.asset_key.path[-1]: {
                k: v.value for k, v in e.asset_observation_data.asset_observation.metadata.items()
            }
            for e in result.get_asset_observation_events()
        }
    assert (planned["cdc_filter_loan_created"]["action"]) == "unchanged"
    car = planned["cdc_filter_car_created"]  # vs the test's change
    assert (car["action"], car["why"], car["phase"]) == ("replace", "its SQL changed", "RUNNING")


def test_the_whole_pipeline_accounts_for_every_event(
    local_stack: Stack, deployed, tmp_path: Path
) -> None:
    """Producer API → PostgreSQL → Debezium → raw → Flink → filtered topics → the four consumers,
    across a Connect worker restart and a consumer SIGKILL mid-stream: every event routed to a
    consumer is processed by it at least once."""
    import os
    import re
    import signal
    import subprocess

    from tests.conftest import ROOT

    settings = deployed
    cli = str(ROOT / ".venv/bin/cdc-ops")
    specs = settings.consumers.consumers
    logs = {c.name: tmp_path / f"{c.name}.log" for c in specs}

    def start(name: str) -> subprocess.Popen:
        argv = [cli, "consume", name, "--processed-log", str(logs[name]), "--progress-every", "1"]
        with open(tmp_path / f"{name}.out", "ab") as out:
            return subprocess.Popen(argv, env=os.environ.copy(), stdout=out, stderr=out)

    procs = {c.name: start(c.name) for c in specs}
    try:
        ids = post_mixed_events(local_stack, uuid.uuid4().hex[:8])
        local_stack.down(["connect"])  # the Connect worker stops mid-stream...
        ids |= post_mixed_events(local_stack, uuid.uuid4().hex[:8])  # (the slot keeps these)
        assert [r.action for r in local_stack.up(["connect"])] == ["started"]  # ...and is back
        ids |= post_mixed_events(local_stack, uuid.uuid4().hex[:8])
        procs["car"].send_signal(signal.SIGKILL)  # a consumer dies mid-stream...
        procs["car"].wait(30)
        ids |= post_mixed_events(local_stack, uuid.uuid4().hex[:8])
        procs["car"] = start("car")  # ...and comes back in its group

        raw = raw_records(settings, ids, timeout_s=90)
        filters = {f.output_topic: f for f in load_filters(FILTERS_FILE).active}
        expected = {
            c.name: {
                uid for uid, records in raw.items() for r in records if matches(filters[c.topic], r)
            }
            for c in specs
        }
        assert sum(map(len, expected.values())) == 32  # 4 rounds x 8 routed events
        deadline = time.monotonic() + 120
        while True:
            processed = {
                n: set(p.read_text().split()) if p.exists() else set() for n, p in logs.items()
            }
            missing = {n: expected[n] - processed[n] for n in expected}
            if not any(missing.values()):
                break
            assert time.monotonic() < deadline, f"never processed: {missing}"
            time.sleep(1)
        # progress while running, not only a summary once stopped
        time.sleep(2)
        progress = (tmp_path / "loan.out").read_text()
        assert re.search(r"loan: [1-9]\d* processed, \d+ dead-lettered, \d+ batch", progress)
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(30) for proc in procs.values()]
    assert codes == [0, 0, 0, 0]  # clean shutdowns


def test_a_regex_java_cannot_compile_is_refused_before_deploying(local_stack: Stack) -> None:
    """Python accepts the inline flag (?a); Java's regex, which Flink's REGEXP uses, does not -
    and EXPLAIN alone would let it through, to match nothing at run time. (Python-only syntax
    the model knows, such as (?P<name>...), is refused earlier, when the file is read.)"""
    from cdc_ops.filters.model import parse_filters

    settings = local_stack.settings
    ff = parse_filters(
        "filters:\n  - name: named_group\n    outputTopic: filtered-x\n    conditions:\n"
        "      - {field: event_type, operator: matches, value: '(?a)Loan.*'}\n"
    )
    compiled = compile_filters(
        ff, Target.APACHE_FLINK, settings.names.raw_topic, settings.kafka.bootstrap_servers or ""
    )
    s = compiled.statements[0]
    error = Adapters(settings).statement_backend.validate(
        s.name, [compiled.source_ddl, s.sink_ddl], s.insert
    )
    assert error == ("invalid regular expression '(?a)Loan.*': java.util.regex cannot compile it")


def test_a_restarted_flink_runs_its_statements_again_and_loses_nothing(
    local_stack: Stack, deployed
) -> None:
    """The JobManager forgets its jobs when it stops (no HA): `up` deploys them again from the
    record, at their groups' committed offsets, so what came meanwhile is routed too."""
    settings = deployed
    backend = Adapters(settings).statement_backend
    running = {n: backend.status(n).sql for n in backend.names()}
    assert len(running) == 4
    flink = ["flink", "flink-taskmanager", "sql-gateway"]
    assert local_stack.down(flink) == list(reversed(flink))
    tag = uuid.uuid4().hex[:8]
    ids = post_mixed_events(local_stack, tag)  # while no Flink runs
    results = local_stack.up(flink)
    assert [r.action for r in results] == ["started"] * 3
    assert {n: backend.status(n).sql for n in backend.names()} == running
    assert {backend.status(n).phase for n in running} == {"RUNNING"}
    expected = {
        "filtered-loan-created-events": {f"evt-{tag}-0", f"evt-{tag}-5"},
        "filtered-service-events": {f"evt-{tag}-3", f"evt-{tag}-8"},
    }
    seen = read_topics(settings, list(expected), ids, expected=expected, quiet_s=1)
    assert seen == expected
