"""One canary run: a canary per route posted through the producer API, timed until it appears
on its route's filtered topic (and on the raw topic, for the hops), then deleted.

The canary's consumer is assigned to the raw and filtered topics at their end offsets before
anything is posted, so it cannot miss one. The rows are deleted from PostgreSQL directly
afterwards, every canary row there is (also any an interrupted run left): the delete reaches the
raw topic as a `d` record with the canary's id, which the filters do not route and the
consumers skip.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cdc_ops.canary.events import CanaryEvent, Unsatisfiable, canary_event
from cdc_ops.canary.marker import CANARY_ID_PREFIX, is_canary
from cdc_ops.canary.verdict import Measurement
from cdc_ops.filters.model import Filter

if TYPE_CHECKING:
    from cdc_ops.adapters import Adapters

log = logging.getLogger("cdc_ops.canary")

# the tables the producer API writes one event into, children first
_DELETES = (
    "DELETE FROM entities WHERE starts_with(event_id, %s)",
    "DELETE FROM event_headers WHERE starts_with(id, %s)",
    "DELETE FROM business_events WHERE starts_with(id, %s)",
)
POLL_S = 0.1


def now_ms() -> float:
    return time.time() * 1000


@dataclass
class CanaryRun:
    measurements: list[Measurement]
    rows_deleted: int | None  # None: the delete failed (cleanup_error says why)
    cleanup_error: str | None = None


def delete_canaries(adapters: Adapters) -> int:
    """Every canary row of the producer API's tables, in one transaction; the events deleted."""
    from cdc_ops.clients.postgres import connect

    with connect(adapters.settings) as conn, conn.transaction():
        counts = [conn.execute(sql, (CANARY_ID_PREFIX,)).rowcount for sql in _DELETES]
    return counts[-1]


def _not_available(adapters: Adapters) -> str | None:
    """Why no canary may be sent now: the cluster is not available (a canary would make the
    producer API ask for its start, and measure a database that is not there)."""
    from cdc_ops.health.reading import cluster_or_none
    from cdc_ops.health.verdicts import stopped_on_purpose

    cluster = cluster_or_none(adapters)
    if cluster is None or cluster.status == "available":
        return None
    return stopped_on_purpose(cluster) or (
        f"cluster {cluster.cluster_id} is {cluster.status}: no canary sent"
    )


class _Watch:
    """The raw and filtered topics, read from their ends as they were before the posts."""

    def __init__(self, adapters: Adapters, topics: Sequence[str]) -> None:
        from confluent_kafka import Consumer, TopicPartition

        from cdc_ops.kafka.topics import client_config

        timeout = adapters.settings.kafka.request_timeout_s
        self._consumer = Consumer(
            {
                **client_config(adapters.settings),
                "group.id": f"cdc-ops-canary-{uuid.uuid4().hex[:8]}",  # never committed
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                # the broker answers a fetch at once: its default wait (500 ms) would be timed
                # as the canary's own read
                "fetch.wait.max.ms": 10,
            }
        )
        metadata = self._consumer.list_topics(timeout=timeout).topics
        assigned = []
        for topic in dict.fromkeys(topics):
            for p in metadata[topic].partitions if topic in metadata else {}:
                _, high = self._consumer.get_watermark_offsets(
                    TopicPartition(topic, p), timeout=timeout
                )
                assigned.append(TopicPartition(topic, p, high))
        self._consumer.assign(assigned)

    def records(self, timeout_s: float) -> list[tuple[str, dict[str, Any], float, float]]:
        """(topic, record, Kafka timestamp ms, read at ms) of the canaries read now."""
        out = []
        for message in self._consumer.consume(num_messages=500, timeout=timeout_s):
            if message.error() or not message.value():
                continue
            try:
                record = json.loads(message.value())
            except ValueError:
                continue
            if isinstance(record, dict) and is_canary(record.get("id")):
                out.append((message.topic(), record, float(message.timestamp()[1]), now_ms()))
        return out

    def close(self) -> None:
        self._consumer.close()


def measure_routes(
    adapters: Adapters,
    filters: Sequence[Filter],
    unique: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> CanaryRun:
    """Send, time and delete one canary per route."""
    settings = adapters.settings
    timeout_s = settings.canary.timeout_s
    raw_topic = settings.names.raw_topic
    unique = unique or uuid.uuid4().hex[:12]
    now = clock()
    events: dict[str, CanaryEvent] = {}
    results: dict[str, Measurement] = {}
    for f in filters:
        m = Measurement(f.name, f.output_topic, timeout_s)
        derived = canary_event(f, unique, now)
        if isinstance(derived, Unsatisfiable):
            results[f.name] = replace(m, unsatisfiable=derived.reason)
        else:
            events[f.name] = derived
            results[f.name] = replace(m, canary_id=derived.id)
    if not events:
        return CanaryRun(list(results.values()), rows_deleted=0)
    why_not = _not_available(adapters)
    if why_not is not None:
        for route in events:
            results[route] = replace(results[route], skipped=f"{why_not}; canary not sent")
        return CanaryRun(list(results.values()), rows_deleted=0)

    topics = {f.name: f.output_topic for f in filters}
    watch = _Watch(adapters, [raw_topic, *(topics[r] for r in events)])
    api = adapters.canary_api
    by_id = {e.id: route for route, e in events.items()}
    waiting: set[str] = set()
    try:
        for route, event in events.items():
            posted = now_ms()
            try:
                status, body = api.post_event(event.document)
            except Exception as exc:  # noqa: BLE001 - the route's finding, not the run's end
                results[route] = replace(results[route], api_error=f"{type(exc).__name__}: {exc}")
                continue
            answered = now_ms()
            if status != 201:
                message = body.get("message") or body.get("error") or json.dumps(body)[:200]
                results[route] = replace(results[route], api_error=f"{status}: {message}")
                continue
            results[route] = replace(results[route], posted_ms=posted, answered_ms=answered)
            waiting.add(route)
        sent = set(waiting)
        deadline = {r: results[r].posted_ms + timeout_s * 1000 for r in sent}  # type: ignore[operator]

        def pending() -> set[str]:
            # a route's raw record can be read after its filtered one (other topic, other fetch)
            return waiting | {r for r in sent if results[r].raw_ms is None}

        while pending() and now_ms() < max(deadline[r] for r in pending()):
            for topic, record, kafka_ms, read_ms in watch.records(POLL_S):
                route = by_id.get(record["id"])
                if route is None:
                    continue  # another run's canary
                m = results[route]
                if topic == raw_topic and record.get("__op") == "c" and m.raw_ms is None:
                    captured = record.get("__ts_ms")
                    captured = float(captured) if isinstance(captured, int | float) else None
                    results[route] = replace(m, captured_ms=captured, raw_ms=kafka_ms)
                elif topic == topics[route] and m.seen_ms is None and read_ms <= deadline[route]:
                    results[route] = replace(m, filtered_ms=kafka_ms, seen_ms=read_ms)
                    waiting.discard(route)
    finally:
        watch.close()
        try:
            deleted, error = delete_canaries(adapters), None
        except Exception as exc:  # noqa: BLE001 - reported with the run, rows left for the next
            deleted, error = None, f"{type(exc).__name__}: {exc}"
            log.warning("canary rows not deleted: %s", error)
    return CanaryRun(list(results.values()), deleted, error)
