"""Slot health from pg_replication_slots on the real local PostgreSQL."""

from __future__ import annotations

import pytest

from cdc_ops.clients.postgres import connect
from cdc_ops.slot.reading import observe_slot
from cdc_ops.tools.stack import Stack

pytestmark = pytest.mark.e2e


def with_slot(stack: Stack, name: str):
    settings = stack.settings.model_copy(deep=True)
    settings.names.replication_slot = name
    return settings


def test_absent_slot_is_a_visible_state(local_stack: Stack) -> None:
    slot = observe_slot(with_slot(local_stack, "no_such_slot"))
    assert (slot.name, slot.state, slot.lag_bytes) == ("no_such_slot", "absent", None)


def test_the_connectors_slot_is_active(local_stack: Stack) -> None:
    slot = observe_slot(local_stack.settings)
    assert (slot.name, slot.state, slot.plugin) == (
        "business_events_cdc_slot",
        "present",
        "pgoutput",
    )
    assert slot.active and slot.wal_status == "reserved"


def test_an_unconsumed_slot_shows_lag_growing(local_stack: Stack) -> None:
    settings = with_slot(local_stack, "test_unconsumed_slot")
    name = settings.names.replication_slot
    with connect(settings) as conn:
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (name,))
        try:
            first = observe_slot(settings)
            conn.execute(
                "INSERT INTO cars (id, attributes)"
                " SELECT 'lag-' || g, '{}' FROM generate_series(1, 2000) g"
            )
            second = observe_slot(settings)
        finally:
            conn.execute("SELECT pg_drop_replication_slot(%s)", (name,))
            conn.execute("DELETE FROM cars WHERE id LIKE 'lag-%%'")
    assert (first.state, first.plugin, first.active, first.wal_status) == (
        "present",
        "pgoutput",
        False,
        "reserved",
    )
    assert second.lag_bytes > first.lag_bytes + 100_000  # 2000 rows of WAL at least
    assert second.retained_bytes >= second.lag_bytes


def test_a_database_that_does_not_answer_is_reported_not_raised(local_stack: Stack) -> None:
    down = local_stack.settings.model_copy(deep=True)
    down.database.cluster_port = 1  # nothing listens there
    slot = observe_slot(down)
    assert slot.state == "unreachable"
    assert slot.error and "password" not in slot.error.lower()
