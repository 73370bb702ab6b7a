"""The local stack for real: up, status, a killed component, a busy port, down; a broker that
is stopped and started again keeps everything."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time

import psycopg
import pytest
from confluent_kafka import Consumer, Producer

from cdc_ops.clients.postgres import connect
from cdc_ops.errors import PortInUseError
from cdc_ops.kafka.groups import group_lag
from cdc_ops.kafka.topics import TopicAdmin, TopicSpec, client_config
from cdc_ops.settings import ConsumerSpec, Settings
from cdc_ops.tools.stack import Stack, State
from cdc_ops.tools.stack.process import is_alive, spawn, terminate
from cdc_ops.tools.stack.scratch import free_ports
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e
CLI = str(ROOT / ".venv" / "bin" / "cdc-ops")


def _pids(stack: Stack) -> dict[str, int]:
    return {c.name: stack.record(c).pid for c in stack.components if stack.record(c)}


def test_every_component_runs_and_says_so(local_stack: Stack) -> None:
    rows = {r.component: r for r in local_stack.status()}
    assert {name: r.state for name, r in rows.items()} == dict.fromkeys(rows, State.RUNNING)
    assert "wal_level=logical" in rows["postgres"].detail
    assert rows["kafka"].detail.startswith("Kafka KRaft broker 1, cluster ")
    assert "raw-business-events: 3 partition(s)" in rows["kafka"].detail
    # the pipeline's five, and whatever earlier tests of the session created
    assert int(rows["kafka"].detail.split(", ")[2].split(" topic(s)")[0]) >= 5
    cluster_id = local_stack.settings.names.cluster_id
    assert f"RDS cluster {cluster_id}: available (aurora-postgresql)" in rows["moto"].detail
    assert "pool size 5" in rows["pgbouncer"].detail
    assert rows["connect"].detail == (
        "Kafka Connect 4.3.1: business-events-cdc RUNNING (1/1 task(s) running)"
    )
    assert rows["connect"].address == f"127.0.0.1:{local_stack.settings.local.ports.connect}"
    assert rows["flink"].detail.startswith("Flink 2.0.0 JobManager (web UI http://127.0.0.1:")
    assert "1 TaskManager(s)" in rows["flink"].detail
    assert rows["flink-taskmanager"].detail.startswith("8 task slot(s)")
    assert rows["flink-taskmanager"].address == "(no port)"
    assert rows["sql-gateway"].detail.startswith("Flink SQL Gateway 2.0.0: ")


def test_up_again_changes_nothing(local_stack: Stack) -> None:
    before = _pids(local_stack)
    results = local_stack.up()
    assert {r.action for r in results} == {"already running"}
    assert _pids(local_stack) == before


def test_the_proxy_reaches_the_database(local_stack: Stack) -> None:
    with connect(local_stack.settings, "proxy") as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("car_entities",)


def test_status_cli_prints_json_and_exits_zero_when_all_run(local_stack: Stack) -> None:
    out = subprocess.run(
        [CLI, "stack", "status", "--json"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [(r["component"], r["state"]) for r in rows] == [
        ("postgres", "running"),
        ("pgbouncer", "running"),
        ("kafka", "running"),
        ("moto", "running"),
        ("connect", "running"),
        ("flink", "running"),
        ("flink-taskmanager", "running"),
        ("sql-gateway", "running"),
    ]


def test_a_killed_component_is_noticed_and_up_restarts_it(local_stack: Stack) -> None:
    bouncer = local_stack.component("pgbouncer")
    old = local_stack.record(bouncer)
    os.kill(old.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while is_alive(old) and time.monotonic() < deadline:
        time.sleep(0.05)

    row = local_stack.status(["pgbouncer"])[0]
    assert row.state is State.DEAD
    assert f"pid {old.pid} exited without `stack down`" in row.detail
    table = subprocess.run([CLI, "stack", "status"], capture_output=True, text=True, timeout=60)
    assert table.returncode == 1
    assert "dead" in table.stdout

    (result,) = local_stack.up(["pgbouncer"])
    assert result.action == "restarted" and result.pid != old.pid
    assert local_stack.status(["pgbouncer"])[0].state is State.RUNNING
    with connect(local_stack.settings, "proxy") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_busy_port_is_a_clear_error_and_nothing_starts(scratch_settings: Settings) -> None:
    kafka_port = scratch_settings.local.ports.kafka
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", kafka_port))
        squatter.listen()
        with pytest.raises(PortInUseError) as err:
            Stack(scratch_settings).up()
        assert str(err.value) == (
            f"kafka: port {kafka_port} on 127.0.0.1 is in use by a process this stack did not"
            " start; free it or set local.ports.kafka (env CDC_OPS_LOCAL__PORTS__KAFKA)"
        )
        # checked before anything started: no process, no record
        assert not list((scratch_settings.state_dir / "run").glob("*.json"))
        assert all(r.state is State.STOPPED for r in Stack(scratch_settings).status())
        assert "held by another process" in Stack(scratch_settings).status(["kafka"])[0].detail

        cli = subprocess.run([CLI, "stack", "up"], capture_output=True, text=True, timeout=60)
        assert cli.returncode == 2
        assert f"error: kafka: port {kafka_port}" in " ".join(cli.stderr.split())


def test_every_port_is_a_setting_named_when_busy(scratch_settings: Settings) -> None:
    port = scratch_settings.local.ports.kafka_controller
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with pytest.raises(PortInUseError) as err:
            Stack(scratch_settings).up(["kafka"])
    assert "set local.ports.kafka_controller (env CDC_OPS_LOCAL__PORTS__KAFKA_CONTROLLER)" in str(
        err.value
    )
    defaults = Settings().local.ports.model_dump()
    assert len(set(defaults.values())) == len(defaults)  # Connect and the gateway differ too


def test_down_stops_exactly_what_up_started(local_stack: Stack, scratch_settings: Settings) -> None:
    # A decoy started outside the stack, listening like a component. `down` must not touch it.
    (decoy_port,) = free_ports(1)
    argv = [str(ROOT / ".venv" / "bin" / "python"), "-m", "http.server", str(decoy_port)]
    decoy = spawn("decoy", argv, scratch_settings.state_dir / "decoy.log")
    session_pids = _pids(local_stack)
    try:
        scratch = Stack(scratch_settings)
        started = scratch.up(["postgres", "kafka"])
        assert [r.action for r in started] == ["started", "started"]
        records = {c.name: scratch.record(c) for c in scratch.select(["postgres", "kafka"])}

        with connect(scratch_settings) as conn:
            conn.execute("INSERT INTO cars (id, attributes) VALUES ('kept', '{}')")

        assert scratch.down() == ["kafka", "postgres"]
        assert not any(is_alive(r) for r in records.values())
        assert is_alive(decoy)
        assert _pids(local_stack) == session_pids
        assert all(r.state is State.RUNNING for r in local_stack.status())
        assert all(r.state is State.STOPPED for r in scratch.status())
        with pytest.raises(psycopg.OperationalError):
            connect(scratch_settings)

        # the database outlives a stop: the cluster's data directory is kept
        scratch.up(["postgres"])
        with connect(scratch_settings) as conn:
            assert conn.execute("SELECT id FROM cars").fetchall() == [("kept",)]
    finally:
        terminate(decoy)


def test_the_broker_keeps_messages_offsets_and_groups_across_down_and_up(
    scratch_settings: Settings,
) -> None:
    stack = Stack(scratch_settings)
    stack.up(["kafka"])
    topic = "kept-across-restarts"
    spec = ConsumerSpec(name="kept", topic=topic, group="kept-group")
    TopicAdmin(scratch_settings).ensure([TopicSpec(topic, 3)])
    producer = Producer(client_config(scratch_settings))  # default batching
    for i in range(300):
        producer.produce(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
    assert producer.flush(10) == 0
    consumer = Consumer(
        {
            **client_config(scratch_settings),
            "group.id": spec.group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    read = 0
    deadline = time.monotonic() + 30
    while read < 200 and time.monotonic() < deadline:
        read += sum(1 for m in consumer.consume(200 - read, timeout=1) if not m.error())
    consumer.commit(asynchronous=False)
    consumer.close()
    before = group_lag(scratch_settings, spec)
    assert (read, before.total) == (200, 100)
    (ends_before,) = TopicAdmin(scratch_settings).describe([topic])
    assert ends_before.total_end_offset == 300

    assert stack.down(["kafka"]) == ["kafka"]
    (result,) = stack.up(["kafka"])
    assert result.action == "started"

    (ends_after,) = TopicAdmin(scratch_settings).describe([topic])
    assert ends_after.end_offsets == ends_before.end_offsets
    after = group_lag(scratch_settings, spec)
    assert after.partitions == before.partitions
    # the group carries on where it committed
    again = Consumer(
        {
            **client_config(scratch_settings),
            "group.id": spec.group,
            "enable.auto.commit": False,
            # a partition the first read did not reach has no committed offset: from its start
            "auto.offset.reset": "earliest",
        }
    )
    again.subscribe([topic])
    values = []
    deadline = time.monotonic() + 30
    while len(values) < 100 and time.monotonic() < deadline:
        values += [m.value() for m in again.consume(100, timeout=1) if not m.error()]
    again.close()
    assert len(values) == 100 and len(set(values)) == 100
