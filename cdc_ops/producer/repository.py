"""Writes and reads of the producer API. One event is one transaction across three tables.

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

INSERT_EVENT = """
INSERT INTO business_events (id, event_name, event_type, created_date, saved_date, event_data)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO NOTHING
RETURNING id
"""
INSERT_HEADER = """
INSERT INTO event_headers (id, event_name, event_type, created_date, saved_date, header_data)
VALUES (%s, %s, %s, %s, %s, %s)
"""
INSERT_ENTITY = """
INSERT INTO entities (event_id, entity_type, entity_id, attributes) VALUES (%s, %s, %s, %s)
"""


@dataclass(frozen=True)
class SaveResult:
    id: str
    created: bool  # False: an identical replay, nothing written


class ProducerRepository:
    def __init__(self, connection: ConnectionSource, sleep: Callable[[float], None] = time.sleep):
        self._connection = connection
        self._sleep = sleep

    def _transaction(self, work: Callable[[psycopg.Connection], T]) -> T:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with self._connection() as conn, conn.transaction():
                    return work(conn)
            except psycopg.errors.SerializationFailure:
                if attempt == MAX_ATTEMPTS:
                    raise
                self._sleep(0.02 * 2**attempt * (0.5 + random.random()))
        raise AssertionError("unreachable")

    def save_event(self, event: BusinessEvent, document: dict[str, Any]) -> SaveResult:
        """Insert the event, its header and its entities, or nothing at all."""
        h = event.event_header
        flat = (h.event_name, h.event_type, h.created_date, h.saved_date)

        def work(conn: psycopg.Connection) -> SaveResult:
            if conn.execute(INSERT_EVENT, (h.uuid, *flat, Jsonb(document))).fetchone() is None:
                same = conn.execute(
                    "SELECT event_data = %s FROM business_events WHERE id = %s",
                    (Jsonb(document), h.uuid),
                ).fetchone()
                if same and same[0]:
                    return SaveResult(h.uuid, created=False)
                raise ConflictError(f"event {h.uuid} already exists with different content")
            conn.execute(INSERT_HEADER, (h.uuid, *flat, Jsonb(document.get("eventHeader", {}))))
            with conn.cursor() as cur:
                cur.executemany(
                    INSERT_ENTITY,
                    [
                        (h.uuid, e.entity_type, e.entity_id, Jsonb(e.updated_attributes))
                        for e in event.event_body.entities
                    ],
                )
            return SaveResult(h.uuid, created=True)

        return self._transaction(work)

    def get_event(self, event_id: str) -> dict[str, Any] | None:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT event_data FROM business_events WHERE id = %s", (event_id,)
            ).fetchone()
        return row[0] if row else None

    def create_car(self, car: Car) -> SaveResult:
        document = car.model_dump(mode="json", exclude_none=True)
        document["id"] = car_id = car.id or str(uuid.uuid4())

        def work(conn: psycopg.Connection) -> SaveResult:
            inserted = conn.execute(
                "INSERT INTO cars (id, attributes) VALUES (%s, %s)"
                " ON CONFLICT (id) DO NOTHING RETURNING id",
                (car_id, Jsonb(document)),
            ).fetchone()
            if inserted:
                return SaveResult(car_id, created=True)
            same = conn.execute(
                "SELECT attributes = %s FROM cars WHERE id = %s", (Jsonb(document), car_id)
            ).fetchone()
            if same and same[0]:
                return SaveResult(car_id, created=False)
            raise ConflictError(f"car {car_id} already exists with different content")

        return self._transaction(work)

    def get_car(self, car_id: str) -> dict[str, Any] | None:
        with self._connection() as conn:
            row = conn.execute("SELECT attributes FROM cars WHERE id = %s", (car_id,)).fetchone()
        return row[0] if row else None

    def list_cars(self, limit: int, offset: int) -> list[dict[str, Any]]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT attributes FROM cars ORDER BY created_at, id LIMIT %s OFFSET %s",
                (limit, offset),
            ).fetchall()
        return [r[0] for r in rows]
