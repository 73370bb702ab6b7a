"""Writes and reads of the producer API. One event is one statement, so one transaction, across
three tables.

Idempotency: the event's uuid (a car's id) is the key. Posting the identical document again is a
replay and writes nothing; the same key with different content is a conflict and writes nothing.
Serialization failures (Aurora DSQL's optimistic concurrency answers 40001) are retried.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg.types.json import Jsonb

from cdc_ops.errors import ConflictError
from cdc_ops.producer.models import BusinessEvent, Car

T = TypeVar("T")
ConnectionSource = Callable[[], AbstractContextManager[psycopg.Connection]]

MAX_ATTEMPTS = 4

# One statement writes the event, its header and its entities, or nothing: a single statement is
# atomic on its own, so it runs in autocommit - one round trip where BEGIN, three inserts and
# COMMIT took five. The header and the entities are inserted only if the event row was (its id
# was new). The last column compares a stored event with this one; it reads the statement's
# snapshot, which is why an event committed by another request meanwhile is compared again.
SAVE_EVENT = """
WITH event AS (
    INSERT INTO business_events
        (id, event_name, event_type, created_date, saved_date, event_data)
    VALUES (%(id)s, %(name)s, %(type)s, %(created)s, %(saved)s, %(document)s)
    ON CONFLICT (id) DO NOTHING
    RETURNING id
), header AS (
    INSERT INTO event_headers
        (id, event_name, event_type, created_date, saved_date, header_data)
    SELECT id, %(name)s, %(type)s, %(created)s, %(saved)s, %(header)s FROM event
    RETURNING id
), entity AS (
    INSERT INTO entities (event_id, entity_type, entity_id, attributes)
    SELECT header.id, e.entity_type, e.entity_id, e.attributes
    FROM header,
         unnest(%(entity_types)s::text[], %(entity_ids)s::text[], %(attributes)s::jsonb[])
             AS e (entity_type, entity_id, attributes)
)
SELECT EXISTS (SELECT FROM event),
       (SELECT event_data = %(document)s FROM business_events WHERE id = %(id)s)
"""
SAME_EVENT = "SELECT event_data = %s FROM business_events WHERE id = %s"
SAVE_CAR = """
WITH car AS (
    INSERT INTO cars (id, attributes) VALUES (%(id)s, %(document)s)
    ON CONFLICT (id) DO NOTHING
    RETURNING id
)
SELECT EXISTS (SELECT FROM car),
       (SELECT attributes = %(document)s FROM cars WHERE id = %(id)s)
"""
SAME_CAR = "SELECT attributes = %s FROM cars WHERE id = %s"


@dataclass(frozen=True)
class SaveResult:
    id: str
    created: bool  # False: an identical replay, nothing written


class ProducerRepository:
    """Each method is one statement, run in autocommit on a pooled connection."""

    def __init__(self, connection: ConnectionSource, sleep: Callable[[float], None] = time.sleep):
        self._connection = connection
        self._sleep = sleep

    def _run(self, work: Callable[[psycopg.Connection], T]) -> T:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self._connection() as conn:
                    # every statement here is its own transaction; setting it costs no round trip
                    conn.autocommit = True
                    return work(conn)
            except psycopg.errors.SerializationFailure:
                if attempt == MAX_ATTEMPTS:
                    raise
                self._sleep(0.02 * 2**attempt * (0.5 + random.random()))
        raise AssertionError("unreachable")

    def _saved(
        self, conn: psycopg.Connection, kind: str, key: str, row: Any, same: str, doc: Jsonb
    ) -> SaveResult:
        created, identical = row
        if created:
            return SaveResult(key, created=True)
        if identical is None:
            # stored by a request that committed after this statement's snapshot was taken
            found = conn.execute(same, (doc, key)).fetchone()
            identical = found[0] if found else None
        if identical:
            return SaveResult(key, created=False)
        raise ConflictError(f"{kind} {key} already exists with different content")

    def save_event(self, event: BusinessEvent, document: dict[str, Any]) -> SaveResult:
        """Insert the event, its header and its entities, or nothing at all."""
        h = event.event_header
        entities = event.event_body.entities
        doc = Jsonb(document)
        params = {
            "id": h.uuid,
            "name": h.event_name,
            "type": h.event_type,
            "created": h.created_date,
            "saved": h.saved_date,
            "document": doc,
            "header": Jsonb(document.get("eventHeader", {})),
            "entity_types": [e.entity_type for e in entities],
            "entity_ids": [e.entity_id for e in entities],
            "attributes": [Jsonb(e.updated_attributes) for e in entities],
        }

        def work(conn: psycopg.Connection) -> SaveResult:
            row = conn.execute(SAVE_EVENT, params).fetchone()
            return self._saved(conn, "event", h.uuid, row, SAME_EVENT, doc)

        return self._run(work)

    def get_event(self, event_id: str) -> dict[str, Any] | None:
        return self._one("SELECT event_data FROM business_events WHERE id = %s", event_id)

    def create_car(self, car: Car) -> SaveResult:
        document = car.model_dump(mode="json", exclude_none=True)
        document["id"] = car_id = car.id or str(uuid.uuid4())
        doc = Jsonb(document)

        def work(conn: psycopg.Connection) -> SaveResult:
            row = conn.execute(SAVE_CAR, {"id": car_id, "document": doc}).fetchone()
            return self._saved(conn, "car", car_id, row, SAME_CAR, doc)

        return self._run(work)

    def get_car(self, car_id: str) -> dict[str, Any] | None:
        return self._one("SELECT attributes FROM cars WHERE id = %s", car_id)

    def _one(self, query: str, key: str) -> dict[str, Any] | None:
        row = self._run(lambda conn: conn.execute(query, (key,)).fetchone())
        return row[0] if row else None

    def list_cars(self, limit: int, offset: int) -> list[dict[str, Any]]:
        rows = self._run(
            lambda conn: conn.execute(
                "SELECT attributes FROM cars ORDER BY created_at, id LIMIT %s OFFSET %s",
                (limit, offset),
            ).fetchall()
        )
        return [r[0] for r in rows]
