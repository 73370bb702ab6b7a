"""The seeds' four consumers as one configurable runner: `cdc-ops consume NAME`.

Each message of its filtered topic is parsed (the flat fields and the `event_data` JSON string),
each entity is handed to the consumer's handler, and the offset is committed only after the
whole batch was processed (at least once). A message that cannot be parsed goes to the
consumer's dead-letter topic with the reason in its headers: never a crash, never a silent skip.
A canary (cdc-ops' synthetic event, by its id; its delete too, which has no event_data) is not a
business event: it is skipped and counted, never handled nor dead-lettered, and committed with
its batch.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer

from cdc_ops.canary.marker import CANARY_ID_PREFIX, is_canary
from cdc_ops.kafka.topics import TopicAdmin, TopicSpec, client_config
from cdc_ops.settings import ConsumerSpec, Settings

log = logging.getLogger("cdc_ops.consumers")


class MalformedMessage(ValueError):
    """Why a message cannot be processed; it goes to the dead-letter topic with this reason."""


@dataclass(frozen=True)
class Entity:
    entity_type: str
    entity_id: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class ParsedEvent:
    id: str
    event_name: str
    event_type: str | None
    op: str | None
    event: dict[str, Any]
    entities: list[Entity] = field(default_factory=list)


def parse(value: bytes | None) -> ParsedEvent:
    """A filtered-topic record: flat JSON whose event_data is the event as a JSON string."""
    if value is None:
        raise MalformedMessage("empty message (a tombstone?)")
    try:
        record = json.loads(value)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedMessage(f"not JSON: {exc}") from None
    if not isinstance(record, dict):
        raise MalformedMessage(f"expected a JSON object, got {type(record).__name__}")
    if not record.get("id") or not record.get("event_name"):
        raise MalformedMessage("missing id or event_name")
    raw = record.get("event_data")
    if not isinstance(raw, str):
        raise MalformedMessage("event_data is not a JSON string")
    try:
        event = json.loads(raw)
    except ValueError as exc:
        raise MalformedMessage(f"event_data is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise MalformedMessage("event_data is not a JSON object")
    entities = []
    for i, e in enumerate((event.get("eventBody") or {}).get("entities") or []):
        if not isinstance(e, dict) or not e.get("entityType") or not e.get("entityId"):
            raise MalformedMessage(f"eventBody.entities[{i}] lacks entityType or entityId")
        entities.append(
            Entity(e["entityType"], str(e["entityId"]), e.get("updatedAttributes") or {})
        )
    return ParsedEvent(
        str(record["id"]),
        record["event_name"],
        record.get("event_type"),
        record.get("__op"),
        event,
        entities,
    )


_CANARY_BYTES = CANARY_ID_PREFIX.encode()


def is_canary_record(value: bytes | None) -> bool:
    """A record of a canary event (any operation): its id carries the canary prefix."""
    if not value or _CANARY_BYTES not in value:  # most records: no second parse
        return False
    try:
        record = json.loads(value)
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(record, dict) and is_canary(record.get("id"))


Handler = Callable[[ParsedEvent, Entity], None]


def log_entity(consumer: str) -> Handler:
    """The default handler: one structured log line per entity (what the seeds' consumers do)."""

    def handle(event: ParsedEvent, entity: Entity) -> None:
        log.info(
            json.dumps(
                {
                    "consumer": consumer,
                    "event_id": event.id,
                    "event_name": event.event_name,
                    "entity_type": entity.entity_type,
                    "entity_id": entity.entity_id,
                }
            )
        )

    return handle


@dataclass
class RunStats:
    processed: int = 0
    dead_lettered: int = 0
    committed_batches: int = 0
    canaries_skipped: int = 0


class ConsumerRunner:
    def __init__(
        self,
        settings: Settings,
        spec: ConsumerSpec,
        handler: Handler | None = None,
        on_processed: Callable[[ParsedEvent], None] | None = None,
    ) -> None:
        self.settings, self.spec = settings, spec
        self.handler = handler or log_entity(spec.name)
        self.on_processed = on_processed
        self.stats = RunStats()
        self._stop = threading.Event()
        base = client_config(settings)
        self._consumer = Consumer(
            {
                **base,
                "group.id": spec.group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        self._producer = Producer({**base, "acks": "all"})

    def stop(self, *_: Any) -> None:
        self._stop.set()

    def _dead_letter(self, message: Any, reason: str) -> None:
        source = f"{message.topic()}/{message.partition()}/{message.offset()}"
        headers = [
            ("cdc-ops-reason", reason.encode()),
            ("cdc-ops-consumer", self.spec.name.encode()),
            ("cdc-ops-source", source.encode()),
        ]
        self._producer.produce(
            self.spec.dead_letter_topic, key=message.key(), value=message.value(), headers=headers
        )
        self.stats.dead_lettered += 1
        log.warning(
            json.dumps({"consumer": self.spec.name, "dead_letter": reason, "source": source})
        )

    def run(self, max_messages: int | None = None) -> RunStats:
        TopicAdmin(self.settings).ensure([TopicSpec(self.spec.dead_letter_topic, 1)])
        # group management: several instances of a consumer share its partitions
        self._consumer.subscribe([self.spec.topic])
        try:
            while not self._stop.is_set():
                batch = self._consumer.consume(num_messages=200, timeout=0.5)
                if not batch:
                    continue
                for message in batch:
                    if message.error():
                        log.warning("consumer error: %s", message.error())
                        continue
                    if is_canary_record(message.value()):
                        self.stats.canaries_skipped += 1
                        continue
                    try:
                        event = parse(message.value())
                        for entity in event.entities:
                            self.handler(event, entity)
                    except MalformedMessage as exc:
                        self._dead_letter(message, str(exc))
                        continue
                    self.stats.processed += 1
                    if self.on_processed:
                        self.on_processed(event)
                # dead letters reach Kafka before the batch is committed
                if self._producer.flush(30):
                    raise KafkaException("dead-letter topic did not acknowledge")
                self._consumer.commit(asynchronous=False)
                self.stats.committed_batches += 1
                if max_messages is not None and self.stats.processed >= max_messages:
                    break
        finally:
            self._consumer.close()
        return self.stats


def run_until_signalled(runner: ConsumerRunner) -> RunStats:
    signal.signal(signal.SIGTERM, runner.stop)
    signal.signal(signal.SIGINT, runner.stop)
    return runner.run()
