"""Incremental snapshots through the signal table: the signal's payload (pure), and the real
stack re-reading business_events while it goes on streaming."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from cdc_ops.adapters import Adapters
from cdc_ops.clients.postgres import connect
from cdc_ops.connector.config import signal_topic
from cdc_ops.connector.snapshot import (
    EXECUTE_SNAPSHOT,
    SignalNotFound,
    SnapshotRequestError,
    SnapshotWindows,
    data_collection,
    insert_signal_sql,
    request_snapshot,
    snapshot_payload,
    snapshot_windows,
)
from cdc_ops.errors import CdcOpsError
from cdc_ops.kafka.topics import TopicAdmin
from cdc_ops.producer.schema import apply_schema, published_tables
from cdc_ops.settings import Settings
from cdc_ops.tools.stack import Stack
from tests.lambdas.test_producer_api_e2e import CountingAutoStarter, build_api, call, loan_event
from tests.test_cdc_e2e import raw_records

# --- the signal (pure) -------------------------------------------------------------------------


def test_default_payload_snapshots_business_events_incrementally() -> None:
    assert snapshot_payload() == {
        "data-collections": ["public.business_events"],
        "type": "incremental",
    }


def test_tables_are_trimmed_deduplicated_and_a_single_name_is_one_table() -> None:
    assert snapshot_payload(" public.business_events ")["data-collections"] == [
        "public.business_events"
    ]
    payload = snapshot_payload(["public.cars", "public.business_events", "public.cars"], None)
    assert payload["data-collections"] == ["public.cars", "public.business_events"]


@pytest.mark.parametrize(
    "bad",
    [
        "business_events",  # no schema
        "public.business_events.x",
        "public.Business_Events",  # would need quoting
        "public.business.*",  # Debezium would read it as a pattern
        "public.business_events;drop",
        "",
        "public." + "x" * 64,  # longer than PostgreSQL's identifiers
    ],
)
def test_malformed_tables_are_refused_naming_the_value(bad: str) -> None:
    with pytest.raises(SnapshotRequestError) as caught:
        snapshot_payload([bad], known=None)
    assert repr(bad) in str(caught.value)
    assert isinstance(caught.value, CdcOpsError) and caught.value.exit_code == 2


def test_tables_the_connector_does_not_capture_are_refused() -> None:
    with pytest.raises(SnapshotRequestError, match=r"'public\.cars' is not captured.*business"):
        snapshot_payload(["public.business_events", "public.cars"])
    assert data_collection("public.cars", known={"public.cars"}) == "public.cars"


def test_no_table_is_refused() -> None:
    with pytest.raises(SnapshotRequestError, match="no table"):
        snapshot_payload([])


def test_the_insert_names_the_three_columns_and_stamps_the_request() -> None:
    text = insert_signal_sql("cdc_signal").as_string(None)
    assert text.startswith('INSERT INTO "cdc_signal" (id, type, data) VALUES')
    assert "clock_timestamp()" in text and text.count("%s") == 3


def test_window_counts_read_as_progress() -> None:
    assert not SnapshotWindows(0, 0).consumed
    assert SnapshotWindows(1, 0).consumed and SnapshotWindows(1, 0).in_chunk
    assert not SnapshotWindows(3, 3).in_chunk


# --- on the real stack -------------------------------------------------------------------------


def _post(settings: Settings, n: int, tag: str) -> list[str]:
    api = build_api(settings, CountingAutoStarter())
    ids = []
    for _ in range(n):
        uid = f"evt-{tag}-{uuid.uuid4().hex[:10]}"
        assert call(api, "POST", "/api/v1/events", loan_event(uid))[0] == 201
        ids.append(uid)
    return ids


def _windows_closed(settings: Settings, signal_id: str, timeout_s: float = 60) -> SnapshotWindows:
    """The signal's windows once at least one opened and every one opened has closed."""
    deadline = time.monotonic() + timeout_s
    while True:
        with connect(settings) as conn:
            windows = snapshot_windows(conn, settings.names.signal_table, signal_id)
        if windows.consumed and not windows.in_chunk:
            return windows
        assert time.monotonic() < deadline, f"snapshot windows after {timeout_s}s: {windows}"
        time.sleep(0.5)


@pytest.mark.e2e
def test_an_incremental_snapshot_rereads_rows_while_streaming_goes_on(local_stack: Stack) -> None:
    settings = local_stack.settings
    before = _post(settings, 20, "snap-old")
    streamed = raw_records(settings, set(before), timeout_s=30)
    assert set(streamed) == set(before)

    with connect(settings) as conn:
        signal_id = request_snapshot(conn, settings.names.signal_table)
        stored = conn.execute(
            f"SELECT type, data FROM {settings.names.signal_table} WHERE id = %s", (signal_id,)
        ).fetchone()
    assert uuid.UUID(signal_id).version == 4
    assert stored[0] == EXECUTE_SNAPSHOT
    assert json.loads(stored[1])["data-collections"] == ["public.business_events"]
    during = _post(settings, 10, "snap-new")  # while Debezium reads its chunks

    found = raw_records(settings, set(before), timeout_s=90, per_id=2)
    for uid in before:
        ops = [r["__op"] for r in found.get(uid, [])]
        assert ops[:2] == ["c", "r"], f"{uid}: {ops}"
        created, read = found[uid][:2]
        assert read["__table"] == "business_events" and read["__deleted"] == "false"
        # the row as it is, the same as it was created
        assert {k: v for k, v in read.items() if not k.startswith("__")} == {
            k: v for k, v in created.items() if not k.startswith("__")
        }
    new = raw_records(settings, set(during), timeout_s=60)
    # a row inserted during the snapshot may be re-read as well, but its insert always arrives
    assert all(records[0]["__op"] == "c" for records in new.values())
    assert set(new) == set(during)

    windows = _windows_closed(settings, signal_id)
    assert windows.opened >= 1
    assert Adapters(settings).connector_backend.status().healthy


@pytest.mark.e2e
def test_the_signal_tables_own_records_reach_no_topic(local_stack: Stack) -> None:
    settings = local_stack.settings
    with connect(settings) as conn:
        signal_id = request_snapshot(conn, settings.names.signal_table)
    _windows_closed(settings, signal_id)
    # a producer stuck on a topic that cannot exist would hold back what follows (and fail the
    # task after max.block.ms, 60 s): an insert after the windows arrives at once
    (after,) = _post(settings, 1, "snap-after")
    assert raw_records(settings, {after}, timeout_s=20).keys() == {after}
    assert signal_topic(settings) not in TopicAdmin(settings).existing()
    assert Adapters(settings).connector_backend.status().healthy


@pytest.mark.e2e
def test_unknown_signal_ids_are_reported(local_stack: Stack) -> None:
    with connect(local_stack.settings) as conn, pytest.raises(SignalNotFound, match="nope"):
        snapshot_windows(conn, local_stack.settings.names.signal_table, "nope")


@pytest.mark.e2e
def test_the_schema_publishes_the_signal_table_and_applies_twice(local_stack: Stack) -> None:
    settings = local_stack.settings
    names = settings.names
    with connect(settings) as conn:
        apply_schema(conn, names)
        apply_schema(conn, names)
        assert published_tables(conn, names.publication) == {
            "business_events",
            names.heartbeat_table,
            names.signal_table,
        }
        columns = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
            (names.signal_table,),
        ).fetchall()
        assert columns == [
            ("id", "character varying"),
            ("type", "character varying"),
            ("data", "text"),
        ]

        # a publication from before signalling (another one here: the connector's stays as it is)
        other = names.model_copy(update={"publication": f"t_pub_{uuid.uuid4().hex[:8]}"})
        try:
            apply_schema(conn, other)
            assert names.signal_table in published_tables(conn, other.publication)
            conn.execute(f"ALTER PUBLICATION {other.publication} DROP TABLE {names.signal_table}")
            apply_schema(conn, other)
            apply_schema(conn, other)
            assert published_tables(conn, other.publication) == {
                "business_events",
                names.heartbeat_table,
                names.signal_table,
            }
        finally:
            conn.execute(f"DROP PUBLICATION IF EXISTS {other.publication}")
