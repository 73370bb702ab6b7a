"""The pipeline's PostgreSQL schema (DESIGN.md "Data model"), applied idempotently.

One business event is one transaction across business_events, event_headers and entities; the
publication carries business_events to the CDC connector, and the heartbeat table lets an idle
database confirm WAL positions so the replication slot cannot retain WAL without bound.

The signal table is Debezium's source signalling channel (incremental snapshots on demand): the
connector reads its inserts from the WAL, so it is in the publication too. The connector logs in
as the schema's owner, so it may write its snapshot-window rows there without a grant.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from cdc_ops.settings import ResourceNames

TABLES = """
CREATE TABLE IF NOT EXISTS business_events (
    id           VARCHAR(255) PRIMARY KEY,
    event_name   VARCHAR(255) NOT NULL,
    event_type   VARCHAR(255),
    created_date TIMESTAMP WITH TIME ZONE,
    saved_date   TIMESTAMP WITH TIME ZONE,
    event_data   JSONB NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_business_events_event_type ON business_events (event_type);
CREATE INDEX IF NOT EXISTS idx_business_events_created_date ON business_events (created_date);

CREATE TABLE IF NOT EXISTS event_headers (
    id           VARCHAR(255) PRIMARY KEY
                 REFERENCES business_events (id) ON DELETE CASCADE,
    event_name   VARCHAR(255) NOT NULL,
    event_type   VARCHAR(255),
    created_date TIMESTAMP WITH TIME ZONE,
    saved_date   TIMESTAMP WITH TIME ZONE,
    header_data  JSONB NOT NULL
);

CREATE TABLE IF NOT EXISTS entities (
    event_id     VARCHAR(255) NOT NULL
                 REFERENCES event_headers (id) ON DELETE CASCADE,
    entity_type  VARCHAR(255) NOT NULL,
    entity_id    VARCHAR(255) NOT NULL,
    attributes   JSONB NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (event_id, entity_type, entity_id)
);
CREATE INDEX IF NOT EXISTS idx_entities_entity ON entities (entity_type, entity_id);

CREATE TABLE IF NOT EXISTS cars (
    id           VARCHAR(255) PRIMARY KEY,
    attributes   JSONB NOT NULL,
    created_at   TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at   TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()
);
"""

#: Tables the schema must contain; used to check a database is ready for the pipeline.
TABLE_NAMES = ("business_events", "event_headers", "entities", "cars")


# Debezium reads a signal row as exactly three string columns, in this order (its
# CommonConnectorConfig.parseSignallingMessage), and writes its snapshot windows with
# `INSERT INTO <table> VALUES (?, ?, ?)`: no fourth column, not even one with a default.
# A window id is a chunk's UUID plus "-close" (42 characters); 64 leaves room for signal ids.
SIGNAL_TABLE = (
    "CREATE TABLE IF NOT EXISTS {} ("
    " id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data TEXT)"
)


def published_tables(conn: psycopg.Connection, publication: str) -> set[str]:
    """The tables of the public schema that a publication carries."""
    rows = conn.execute(
        "SELECT tablename FROM pg_publication_tables WHERE pubname = %s AND schemaname = 'public'",
        (publication,),
    ).fetchall()
    return {r[0] for r in rows}


def apply_schema(conn: psycopg.Connection, names: ResourceNames) -> None:
    """Create what is missing; never drops or rewrites existing objects."""
    heartbeat = sql.Identifier(names.heartbeat_table)
    signal = sql.Identifier(names.signal_table)
    publication = sql.Identifier(names.publication)
    with conn.transaction():
        conn.execute(TABLES)
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                " id INTEGER PRIMARY KEY, beat_at TIMESTAMP WITH TIME ZONE NOT NULL)"
            ).format(heartbeat)
        )
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (id, beat_at) VALUES (1, now()) ON CONFLICT (id) DO NOTHING"
            ).format(heartbeat)
        )
        conn.execute(sql.SQL(SIGNAL_TABLE).format(signal))
        exists = conn.execute(
            "SELECT 1 FROM pg_publication WHERE pubname = %s", (names.publication,)
        ).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE PUBLICATION {} FOR TABLE business_events, {}, {}").format(
                    publication, heartbeat, signal
                )
            )
        elif names.signal_table not in published_tables(conn, names.publication):
            # a publication from before signalling: widened in place, never recreated, so the
            # connector streams on through the change
            conn.execute(sql.SQL("ALTER PUBLICATION {} ADD TABLE {}").format(publication, signal))
