"""The change stream for real: producer API → PostgreSQL → Debezium on a Kafka Connect worker →
raw topic; the slot-lag sensor with the connector stopped and resumed through Connect's REST API;
a killed worker started again losing nothing; the REST answers the backend relies on."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from confluent_kafka import Consumer

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
    """Every record of the raw topic whose id is wanted, read from the start by a new group."""
    consumer = Consumer(
        {
            **client_config(settings),
            "group.id": f"t-{uuid.uuid4().hex[:6]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([settings.names.raw_topic])
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
    """PostgreSQL, PgBouncer, Kafka and a Connect worker of their own, test-sized thresholds."""
    monkeypatch.setenv("CDC_OPS_THRESHOLDS__SLOT_LAG_WARN_BYTES", str(4 * 1024**2))
    monkeypatch.setenv("CDC_OPS_THRESHOLDS__SLOT_LAG_CRITICAL_BYTES", str(1024**3))
    monkeypatch.setenv("CDC_OPS_CONNECTOR__HEARTBEAT_INTERVAL_MS", "1000")
    stack = Stack(load_settings())
    stack.up(["postgres", "pgbouncer", "kafka", "connect"])
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


def test_a_killed_worker_started_again_delivers_everything(cdc_stack: Stack) -> None:
    settings = cdc_stack.settings
    api = build_api(settings, CountingAutoStarter())
    worker = cdc_stack.component("connect")
    ids: list[str] = []

    def post(n: int) -> None:
        for _ in range(n):
            uid = f"evt-kill-{uuid.uuid4().hex[:10]}"
            assert call(api, "POST", "/api/v1/events", loan_event(uid))[0] == 201
            ids.append(uid)

    post(20)
    record = cdc_stack.record(worker)
    os.kill(record.pid, signal.SIGKILL)
    while is_alive(record):
        time.sleep(0.05)
    post(20)  # while no worker runs: the slot keeps them
    (result,) = cdc_stack.up(["connect"])
    assert result.action == "restarted"
    assert Adapters(settings).connector_backend.status().healthy
    post(20)

    found = raw_records(settings, set(ids), timeout_s=60)
    assert set(ids) <= set(found), f"missing: {sorted(set(ids) - set(found))[:5]}"
    # the connector-health sensor reads it healthy and restarts nothing
    tick = run_tick(connector_health_verdict, None, Adapters(settings))
    assert tick.summary == "connector and all tasks RUNNING"
    assert json.loads(tick.cursor)["memory"]["restarts"] == 0
    assert tick.result.asset_events[1].passed


def test_connects_rest_answers_what_the_backend_relies_on(local_stack: Stack) -> None:
    """The contract the Connect backend's mocked tests assume, asked of the real worker."""
    settings = local_stack.settings
    base = f"{settings.connector.connect_url}/connectors/{settings.connector.name}"
    restart = httpx.post(f"{base}/restart", params={"includeTasks": "true", "onlyFailed": "true"})
    assert restart.status_code == 202
    assert restart.json()["connector"]["state"] in ("RUNNING", "RESTARTING")
    offsets = Adapters(settings).connector_backend.offsets()
    assert offsets and "lsn" in offsets[0]["offset"]
    # the offsets it has, sent back: refused while the connector runs
    running = httpx.patch(f"{base}/offsets", json={"offsets": offsets})
    assert running.status_code == 400
    assert "must be in the STOPPED state" in running.json()["message"]
    assert Adapters(settings).connector_backend.status().healthy


def test_a_changed_password_reaches_the_connector(
    cdc_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connector's configuration is applied from the settings on every `up`."""
    monkeypatch.setenv("CDC_OPS_DATABASE__PASSWORD", "rotated-secret")
    settings = load_settings()
    results = Stack(settings).up(["postgres", "connect"])  # postgres takes the new password
    assert [r.action for r in results] == ["already running", "already running"]
    backend = Adapters(settings).connector_backend
    config = httpx.get(
        f"{settings.connector.connect_url}/connectors/{settings.connector.name}/config"
    )
    assert config.json()["database.password"] == "rotated-secret"
    assert backend.status().healthy
