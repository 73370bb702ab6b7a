"""Incremental snapshots on demand, asked of Debezium through its signal table.

An `execute-snapshot` row in the signal table reaches Debezium through the replication slot like
any other insert (the table is in the publication); Debezium then re-reads the chosen tables chunk
by chunk, by primary key, while it goes on streaming. Each re-read row is a record with
`__op` = "r" on the raw topic; a row changed while its chunk is open is sent as the change only.

Debezium neither marks nor deletes a signal row. With the insert_insert watermarking strategy
(the connector's configuration states it) it writes, for every chunk, a `snapshot-window-open`
and a `snapshot-window-close` row whose id is a fresh UUID of the chunk's, unrelated to the
signal's, and whose data holds only the worker's clock: {"openWindowTimestamp": ...}. So the
signal written here carries the database's clock as `requested_at`, and the windows opened from
then on are the ones counted for it (Debezium ignores keys of the data it does not know).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from cdc_ops.connector.config import CAPTURED_TABLES
from cdc_ops.errors import CdcOpsError

EXECUTE_SNAPSHOT = "execute-snapshot"
# the types Debezium gives its window rows (OpenIncrementalSnapshotWindow.NAME and
# CloseIncrementalSnapshotWindow.NAME)
WINDOW_OPEN = "snapshot-window-open"
WINDOW_CLOSE = "snapshot-window-close"

# PostgreSQL's unquoted identifiers, lowercase: nothing Debezium would read as a regular expression
# (it matches data-collections as patterns), nothing that needs quoting
_IDENTIFIER = r"[a-z_][a-z0-9_]{0,62}"
_DATA_COLLECTION = re.compile(rf"{_IDENTIFIER}\.{_IDENTIFIER}")


class SnapshotRequestError(CdcOpsError):
    """A snapshot was asked for something that cannot be snapshotted; names the value."""

    exit_code = 2


class SignalNotFound(CdcOpsError):
    """No snapshot signal with this id is in the signal table."""


def data_collection(value: str, known: Collection[str] | None = CAPTURED_TABLES) -> str:
    """`value` as Debezium names a PostgreSQL table (schema.table), checked against `known`
    (the tables the connector captures; None: any well-formed name)."""
    name = value.strip() if isinstance(value, str) else ""
    if not _DATA_COLLECTION.fullmatch(name):
        raise SnapshotRequestError(
            f"table {value!r} is not schema.table (lowercase letters, digits, underscores),"
            " e.g. public.business_events"
        )
    if known is not None and name not in known:
        raise SnapshotRequestError(
            f"table {value!r} is not captured by the connector; it captures {', '.join(known)}"
        )
    return name


def snapshot_payload(
    tables: Iterable[str] = CAPTURED_TABLES, known: Collection[str] | None = CAPTURED_TABLES
) -> dict[str, Any]:
    """The `data` of an execute-snapshot signal: an incremental snapshot of `tables`."""
    if isinstance(tables, str):  # one name, not its characters
        tables = [tables]
    chosen = list(dict.fromkeys(data_collection(t, known) for t in tables))
    if not chosen:
        raise SnapshotRequestError("no table given to snapshot")
    return {"data-collections": chosen, "type": "incremental"}


def insert_signal_sql(signal_table: str) -> sql.Composed:
    """The insert of one signal; parameters: id, type, data (JSON text). The database's clock
    goes into the data as requested_at, so windows can be told apart by when they opened."""
    return sql.SQL(
        "INSERT INTO {} (id, type, data) VALUES"
        " (%s, %s, (%s::jsonb || jsonb_build_object('requested_at', clock_timestamp()))::text)"
    ).format(sql.Identifier(signal_table))


def request_snapshot(
    conn: psycopg.Connection,
    signal_table: str,
    tables: Iterable[str] = CAPTURED_TABLES,
    known: Collection[str] | None = CAPTURED_TABLES,
) -> str:
    """Ask for an incremental snapshot of `tables`; returns the signal's id (a UUID).

    Debezium sees the signal once it is committed: at once on an autocommit connection (as
    clients.postgres.connect gives), else when the caller's own transaction commits."""
    payload = snapshot_payload(tables, known)
    signal_id = str(uuid.uuid4())
    with conn.transaction():
        conn.execute(
            insert_signal_sql(signal_table), (signal_id, EXECUTE_SNAPSHOT, json.dumps(payload))
        )
    return signal_id


@dataclass(frozen=True)
class SnapshotWindows:
    """The chunk windows Debezium opened and closed since a signal was written."""

    opened: int
    closed: int

    @property
    def consumed(self) -> bool:
        """Debezium acted on the signal: even an empty table gets one window."""
        return self.opened > 0

    @property
    def in_chunk(self) -> bool:
        """A chunk is being read or its buffered rows are waiting for the close."""
        return self.opened > self.closed


def snapshot_windows(
    conn: psycopg.Connection, signal_table: str, signal_id: str
) -> SnapshotWindows:
    """How many chunk windows opened and closed since signal `signal_id` was written.

    A progress reading, not an account: the windows carry no signal id, so a snapshot still
    running when this one was asked for counts too, and the two clocks compared (the database's
    for the signal, the Connect worker's for the windows) are assumed to agree to within the
    time a signal takes to reach Debezium. Every chunk's window closes, the last one (which
    finds no more rows) included; whether the snapshot is over, Debezium's snapshot metrics say.
    """
    table = sql.Identifier(signal_table)
    row = conn.execute(
        sql.SQL("SELECT data FROM {} WHERE id = %s AND type = %s").format(table),
        (signal_id, EXECUTE_SNAPSHOT),
    ).fetchone()
    if row is None:
        raise SignalNotFound(f"no {EXECUTE_SNAPSHOT} signal {signal_id!r} in {signal_table}")
    requested_at = _requested_at(row[0])
    if requested_at is None:
        raise SnapshotRequestError(
            f"signal {signal_id!r} in {signal_table} has no requested_at:"
            " it was not written by request_snapshot"
        )
    opened, closed = conn.execute(
        sql.SQL(
            "SELECT count(*) FILTER (WHERE type = %s), count(*) FILTER (WHERE type = %s)"
            " FROM {} WHERE CASE WHEN type IN (%s, %s)"  # only window rows' data is parsed
            " THEN (data::jsonb ->> 'openWindowTimestamp')::timestamptz END >= %s::timestamptz"
        ).format(table),
        (WINDOW_OPEN, WINDOW_CLOSE, WINDOW_OPEN, WINDOW_CLOSE, requested_at),
    ).fetchone()
    return SnapshotWindows(opened, closed)


def _requested_at(data: str | None) -> str | None:
    try:
        value = json.loads(data or "")
    except ValueError:
        return None
    found = value.get("requested_at") if isinstance(value, dict) else None
    return found if isinstance(found, str) else None
