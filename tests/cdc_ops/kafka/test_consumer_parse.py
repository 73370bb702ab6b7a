"""Parsing a filtered-topic record (pure)."""

from __future__ import annotations

import json

import pytest

from cdc_ops.kafka.consumer import MalformedMessage, is_canary_record, parse


def record(**kw) -> bytes:
    event = {
        "eventHeader": {"uuid": "e1"},
        "eventBody": {
            "entities": [
                {"entityType": "Loan", "entityId": "l1", "updatedAttributes": {"amount": 5}}
            ]
        },
    }
    base = {
        "id": "e1",
        "event_name": "LoanCreated",
        "event_type": "LoanCreated",
        "__op": "c",
        "event_data": json.dumps(event),
    }
    return json.dumps(base | kw).encode()


def test_flat_fields_and_the_event_data_string() -> None:
    event = parse(record())
    assert (event.id, event.event_name, event.op) == ("e1", "LoanCreated", "c")
    assert [(e.entity_type, e.entity_id, e.attributes) for e in event.entities] == [
        ("Loan", "l1", {"amount": 5})
    ]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty message"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (record(id=None), "missing id or event_name"),
        (record(event_data={"a": 1}), "event_data is not a JSON string"),
        (record(event_data="{oops"), "event_data is not JSON"),
        (
            record(event_data=json.dumps({"eventBody": {"entities": [{"entityType": "Loan"}]}})),
            "eventBody.entities[0] lacks entityType or entityId",
        ),
    ],
)
def test_malformed_messages_say_why(value, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason.replace("[", r"\[").replace("]", r"\]")):
        parse(value)


def canary(op: str = "c") -> bytes:
    if op == "d":  # a delete carries the key columns only: no event_name, no event_data
        return json.dumps({"id": "cdc-ops-canary-loan-created-u1", "__op": "d"}).encode()
    return record(id="cdc-ops-canary-loan-created-u1")


@pytest.mark.parametrize("value", [canary("c"), canary("d")])
def test_a_canary_record_is_recognised_by_its_id(value: bytes) -> None:
    assert is_canary_record(value)


@pytest.mark.parametrize(
    "value",
    [
        record(),
        None,
        b"{not json cdc-ops-canary-",
        record(event_name="cdc-ops-canary-x"),  # the prefix elsewhere is not the marker
        json.dumps(["cdc-ops-canary-x"]).encode(),
    ],
)
def test_nothing_else_is_a_canary(value) -> None:
    assert not is_canary_record(value)


class FakeMessage:
    def __init__(self, value: bytes) -> None:
        self._value = value

    def error(self):
        return None

    def value(self) -> bytes:
        return self._value

    def key(self):
        return None

    def topic(self) -> str:
        return "filtered-loan-created-events"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return 0


class FakeConsumer:
    def __init__(self, batches: list[list[FakeMessage]], runner) -> None:
        self.batches, self.runner, self.commits = batches, runner, 0

    def subscribe(self, topics) -> None:
        pass

    def consume(self, num_messages: int, timeout: float):
        if not self.batches:
            self.runner.stop()
            return []
        return self.batches.pop(0)

    def commit(self, asynchronous: bool) -> None:
        self.commits += 1

    def close(self) -> None:
        pass


class FakeProducer:
    def __init__(self) -> None:
        self.produced: list = []

    def produce(self, topic, **kw) -> None:
        self.produced.append(topic)

    def flush(self, timeout: float) -> int:
        return 0


def test_the_runner_skips_canaries_without_handling_or_dead_lettering_them(monkeypatch) -> None:
    from cdc_ops.kafka import consumer as module
    from cdc_ops.settings import ConsumerSpec, Settings

    monkeypatch.setattr(module.TopicAdmin, "ensure", lambda self, specs: None)
    spec = ConsumerSpec(name="loan", topic="filtered-loan-created-events", group="g")
    handled: list[str] = []
    runner = module.ConsumerRunner(Settings(), spec, handler=lambda e, _: handled.append(e.id))
    fake = FakeConsumer(
        [[FakeMessage(record()), FakeMessage(canary("c")), FakeMessage(canary("d"))]], runner
    )
    runner._consumer, runner._producer = fake, FakeProducer()
    stats = runner.run()
    assert handled == ["e1"]
    assert (stats.processed, stats.canaries_skipped, stats.dead_lettered) == (1, 2, 0)
    assert fake.commits == 1 and runner._producer.produced == []
