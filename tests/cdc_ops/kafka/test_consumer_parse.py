"""Parsing a filtered-topic record (pure)."""

from __future__ import annotations

import json

import pytest

from cdc_ops.kafka.consumer import MalformedMessage, parse


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
