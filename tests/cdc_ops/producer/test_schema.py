"""The schema on the real local PostgreSQL, reached through PgBouncer like the producer API."""

from __future__ import annotations

import json

import pytest

from cdc_ops.clients.postgres import connect
from cdc_ops.producer.schema import TABLE_NAMES, apply_schema
from cdc_ops.tools.stack import Stack

pytestmark = pytest.mark.e2e


def test_tables_indexes_and_logical_wal(local_stack: Stack) -> None:
    with connect(local_stack.settings, "proxy") as conn:
        tables = {
            r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        }
        assert set(TABLE_NAMES) | {"cdc_heartbeat"} <= tables
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes")}
        assert {"idx_business_events_event_type", "idx_business_events_created_date"} <= indexes
        assert conn.execute("SHOW wal_level").fetchone() == ("logical",)


def test_the_publication_carries_the_events_heartbeats_and_signals(local_stack: Stack) -> None:
    names = local_stack.settings.names
    with connect(local_stack.settings) as conn:
        published = conn.execute(
            "SELECT tablename FROM pg_publication_tables WHERE pubname = %s ORDER BY 1",
            (names.publication,),
        ).fetchall()
    assert published == [("business_events",), (names.heartbeat_table,), (names.signal_table,)]


def test_one_event_spans_three_tables_and_deletes_cascade(local_stack: Stack) -> None:
    event = {"eventHeader": {"uuid": "evt-schema-1", "eventName": "LoanCreated"}, "eventBody": {}}
    with connect(local_stack.settings, "proxy") as conn, conn.transaction():
        conn.execute(
            "INSERT INTO business_events (id, event_name, event_type, event_data)"
            " VALUES ('evt-schema-1', 'LoanCreated', 'LoanCreated', %s)",
            (json.dumps(event),),
        )
        conn.execute(
            "INSERT INTO event_headers (id, event_name, header_data)"
            " VALUES ('evt-schema-1', 'LoanCreated', %s)",
            (json.dumps(event["eventHeader"]),),
        )
        conn.execute(
            "INSERT INTO entities (event_id, entity_type, entity_id, attributes)"
            " VALUES ('evt-schema-1', 'Loan', 'loan-1', '{\"amount\": 1}')"
        )
    with connect(local_stack.settings, "proxy") as conn:
        conn.execute("DELETE FROM business_events WHERE id = 'evt-schema-1'")
        left = conn.execute(
            "SELECT (SELECT count(*) FROM event_headers WHERE id = 'evt-schema-1'),"
            " (SELECT count(*) FROM entities WHERE event_id = 'evt-schema-1')"
        ).fetchone()
    assert left == (0, 0)


def test_applying_the_schema_again_changes_nothing(local_stack: Stack) -> None:
    with connect(local_stack.settings) as conn:
        before = conn.execute("SELECT count(*) FROM pg_class").fetchone()
        apply_schema(conn, local_stack.settings.names)
        assert conn.execute("SELECT count(*) FROM pg_class").fetchone() == before
