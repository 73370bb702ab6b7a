"""The pipeline's PostgreSQL schema (DESIGN.md "Data model"), applied idempotently.

One business event is one transaction across business_events, event_headers and entities; the
publication carries business_events to the CDC connector, and the heartbeat table lets an idle
database confirm WAL positions so the replication slot cannot retain WAL without bound.
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


def apply_schema(conn: psycopg.Connection, names: ResourceNames) -> None:
    """Create what is missing; never drops or rewrites existing objects."""
    heartbeat = sql.Identifier(names.heartbeat_table)
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
        exists = conn.execute(
            "SELECT 1 FROM pg_publication WHERE pubname = %s", (names.publication,)
        ).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE PUBLICATION {} FOR TABLE business_events, {}").format(
                    publication, heartbeat
                )
            )
