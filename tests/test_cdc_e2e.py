"""The change stream for real: producer API → PostgreSQL → Debezium (embedded) → raw topic; the
slot-lag sensor with the connector stopped and restarted; the health sensor after a kill."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from confluent_kafka import Consumer, TopicPartition

from cdc_ops.adapters import Adapters
from cdc_ops.alerts.delivery import Alerter, LogDestination
from cdc_ops.clients.postgres import connect
from cdc_ops.kafka.topics import client_config
from cdc_ops.settings import Settings, load_settings
from cdc_ops.slot.reading import observe_slot
from cdc_ops.tools.stack import Stack
from cdc_ops.tools.stack.process import is_alive
from sensors.connector_health import connector_health_verdict
from sensors.factory import run_tick
from sensors.slot_lag import slot_lag_verdict
from tests.helpers import Recorder
from tests.lambdas.test_producer_api_e2e import CountingAutoStarter, build_api, call, loan_event

pytestmark = pytest.mark.e2e


def raw_records(
    settings: Settings, ids: set[str], timeout_s: float = 30, per_id: int = 1
) -> dict[str, list[dict]]:
    """Every record of the raw topic whose id is wanted, read from the start of each partition
    (assign(), not subscribe(): tansu's group join takes ~23 s; see DESIGN.md)."""
    consumer = Consumer(
        {
            **client_config(settings),
            "group.id": f"t-{uuid.uuid4().hex[:6]}",
            "enable.auto.commit": False,
        }
    )
    topic = settings.names.raw_topic
    consumer.assign(
        [TopicPartition(topic, p, 0) for p in range(settings.names.raw_topic_partitions)]
    )
    found: dict[str, list[dict]] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not all(len(found.get(i, [])) >= per_id for i in ids):
            message = consumer.poll(0.5)
            if message is None or message.error() or message.value() is None:
                continue
            value = json.loads(message.value())
            if value.get("id") in ids:
                found.setdefault(value["id"], []).append(value)
    finally:
        consumer.close()
    return found


def test_events_reach_the_raw_topic_as_flat_json_with_cdc_fields(local_stack: Stack) -> None:
    settings = local_stack.settings
    api = build_api(settings, CountingAutoStarter())
    uid = f"evt-cdc-{uuid.uuid4().hex[:8]}"
    posted = loan_event(uid)
    assert call(api, "POST", "/api/v1/events", posted)[0] == 201
    with connect(settings) as conn:
        conn.execute("UPDATE business_events SET event_name = 'LoanUpdated' WHERE id = %s", (uid,))
        conn.execute("DELETE FROM business_events WHERE id = %s", (uid,))

    records = raw_records(settings, {uid}, timeout_s=30, per_id=3).get(uid, [])
    created, updated, deleted = records[:3]
    assert created["__op"] == "c" and created["__table"] == "business_events"
    assert isinstance(created["__ts_ms"], int) and created["__deleted"] == "false"
    assert (created["event_name"], created["event_type"]) == ("LoanCreated", "LoanCreated")
    assert created["created_date"] == "2024-01-15T09:50:00.000000Z"  # ISO-8601, UTC
    # event_data travels as a JSON string, holding the whole event as posted
    assert isinstance(created["event_data"], str) and json.loads(created["event_data"]) == posted
    assert (updated["__op"], updated["event_name"]) == ("u", "LoanUpdated")
    assert (deleted["__op"], deleted["__deleted"], deleted["id"]) == ("d", "true", uid)


@pytest.fixture
def cdc_stack(scratch_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """PostgreSQL, PgBouncer, Kafka and a connector of their own, with test-sized thresholds."""
    monkeypatch.setenv("CDC_OPS_THRESHOLDS__SLOT_LAG_WARN_BYTES", str(4 * 1024**2))
    monkeypatch.setenv("CDC_OPS_THRESHOLDS__SLOT_LAG_CRITICAL_BYTES", str(1024**3))
    monkeypatch.setenv("CDC_OPS_CONNECTOR__HEARTBEAT_INTERVAL_MS", "1000")
    stack = Stack(load_settings())
    stack.up(["postgres", "pgbouncer", "kafka", "connector"])
    yield stack


def test_slot_lag_alerts_while_the_connector_is_stopped_and_resolves(cdc_stack: Stack) -> None:
    settings = cdc_stack.settings
    recorder = Recorder()
    alerter = Alerter(settings, [recorder, LogDestination()])
    tick = run_tick(slot_lag_verdict, None, Adapters(settings), alerter)
    cursor, sent = tick.cursor, tick.notifications
    assert sent == []

    backend = Adapters(settings).connector_backend
    backend.stop()
    batch = 0
    while (observe_slot(settings).retained_bytes or 0) <= 4 * 1024**2:  # write until past it
        assert batch < 100
        with connect(settings) as conn:
            conn.execute(
                "INSERT INTO cars (id, attributes) SELECT %s || g, jsonb_build_object('pad',"
                " (SELECT string_agg(md5(random()::text || h), '') FROM generate_series(1, 30) h))"
                " FROM generate_series(1, 500) g",
                (f"lag-{batch}-",),
            )
        batch += 1
    tick = run_tick(slot_lag_verdict, cursor, Adapters(settings), alerter)
    cursor, sent = tick.cursor, tick.notifications
    assert [(n.kind, n.alert.key) for n in sent] == [
        ("firing", "slot/business_events_cdc_slot/retained_wal")
    ]
    assert sent[0].alert.values["retained_bytes"] > 4 * 1024**2
    tick = run_tick(slot_lag_verdict, cursor, Adapters(settings), alerter)
    cursor, sent = tick.cursor, tick.notifications
    assert sent == []  # once

    backend.resume()
    deadline = time.monotonic() + 120
    resolved = []
    while not resolved:
        assert time.monotonic() < deadline, "retained WAL did not drain after the restart"
        superuser = cdc_stack.component("postgres").superuser_conninfo()
        with psycopg.connect(superuser, autocommit=True) as conn:
            conn.execute("CHECKPOINT")  # lets the slot's restart_lsn move on sooner
        time.sleep(2)
        tick = run_tick(slot_lag_verdict, cursor, Adapters(settings), alerter)
        cursor, sent = tick.cursor, tick.notifications
        resolved = [n for n in sent if n.kind == "resolved"]
    assert resolved[0].alert.key == "slot/business_events_cdc_slot/retained_wal"
    assert [b["kind"] for b in recorder.bodies] == ["firing", "resolved"]


def test_a_killed_connector_is_restarted_by_the_sensor_and_nothing_is_lost(cdc_stack) -> None:
    settings = cdc_stack.settings
    api = build_api(settings, CountingAutoStarter())
    component = cdc_stack.component("connector")
    ids: list[str] = []

    def post(n: int) -> None:
        for _ in range(n):
            uid = f"evt-kill-{uuid.uuid4().hex[:10]}"
            assert call(api, "POST", "/api/v1/events", loan_event(uid))[0] == 201
            ids.append(uid)

    post(20)
    record = cdc_stack.record(component)
    os.kill(record.pid, signal.SIGKILL)
    while is_alive(record):
        time.sleep(0.05)
    post(20)  # while no connector runs: the slot keeps them

    tick = run_tick(
        connector_health_verdict, None, Adapters(settings), Alerter(settings, [LogDestination()])
    )
    assert "restart 1 of" in tick.summary
    assert json.loads(tick.cursor)["memory"]["restarts"] == 1
    # the tick reports the connector's state and its check to the UI
    observation, check = tick.result.asset_events
    assert observation.metadata["restarts"].value == 1 and check.check_name == "connector_running"
    assert Adapters(settings).connector_backend.status().healthy
    post(20)

    found = raw_records(settings, set(ids), timeout_s=60)
    assert set(ids) <= set(found), f"missing: {sorted(set(ids) - set(found))[:5]}"
    # healthy again: the next tick resets the count
    tick = run_tick(connector_health_verdict, tick.cursor, Adapters(settings))
    assert tick.summary == "connector and all tasks RUNNING"
    assert json.loads(tick.cursor)["memory"]["restarts"] == 0
    assert tick.result.asset_events[1].passed
