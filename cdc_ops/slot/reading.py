"""Replication slot health, read from pg_replication_slots on the cluster endpoint.

Lag is WAL the consumer has not confirmed (pg_current_wal_lsn() - confirmed_flush_lsn); retained
WAL is what the slot keeps on disk (pg_current_wal_lsn() - restart_lsn). "absent" is a valid state.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from cdc_ops.clients.postgres import connect
from cdc_ops.settings import Settings
from cdc_ops.states import ABSENT

SLOT_QUERY = """
SELECT plugin, active, active_pid, wal_status, safe_wal_size,
       restart_lsn::text, confirmed_flush_lsn::text,
       pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint AS lag_bytes,
       pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained_bytes,
       pg_current_wal_lsn()::text
FROM pg_replication_slots
WHERE slot_name = %s
"""


@dataclass(frozen=True)
class SlotState:
    name: str
    state: str  # "present", "absent" or "unreachable"
    plugin: str | None = None
    active: bool | None = None
    active_pid: int | None = None
    wal_status: str | None = None
    safe_wal_size: int | None = None
    restart_lsn: str | None = None
    confirmed_flush_lsn: str | None = None
    lag_bytes: int | None = None
    retained_bytes: int | None = None
    # the server's WAL position now: confirmed_flush_lsn against it is how far the connector is
    current_wal_lsn: str | None = None
    error: str | None = None


def read_slot(conn: psycopg.Connection, slot_name: str) -> SlotState:
    row = conn.execute(SLOT_QUERY, (slot_name,)).fetchone()
    if row is None:
        return SlotState(slot_name, ABSENT)
    plugin, active, pid, wal_status, safe, restart, confirmed, lag, retained, current = row
    return SlotState(
        slot_name,
        "present",
        plugin,
        active,
        pid,
        wal_status,
        safe,
        restart,
        confirmed,
        lag,
        retained,
        current,
    )


def observe_slot(settings: Settings) -> SlotState:
    """The slot's state; a database that does not answer is reported, not raised."""
    name = settings.names.replication_slot
    try:
        with connect(settings, "cluster") as conn:
            return read_slot(conn, name)
    except psycopg.OperationalError as exc:
        return SlotState(name, "unreachable", error=str(exc).strip().splitlines()[0])
