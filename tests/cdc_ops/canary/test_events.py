"""The canary each route gets: accepted by the producer API, routed by its filter (by the same
evaluator the filters are checked with), marked; or the reason there can be none."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cdc_ops.canary.events import CanaryEvent, Unsatisfiable, canary_event, row_of
from cdc_ops.canary.marker import CANARY_ID_PREFIX, MARKER_ATTRIBUTE, is_canary_document
from cdc_ops.filters.evaluate import matches
from cdc_ops.filters.model import Filter, load_filters, parse_filters
from cdc_ops.producer.models import BusinessEvent

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def one(conditions: str, match: str = "all", operations: str = "[c]") -> Filter:
    text = (
        "filters:\n  - name: route_x\n    outputTopic: out\n"
        f"    operations: {operations}\n    match: {match}\n    conditions:\n{conditions}"
    )
    (f,) = parse_filters(text).filters
    return f


def cond(field: str, operator: str, value: object = None) -> str:
    line = f"      - field: '{field}'\n        operator: {operator}\n"
    if value is not None:
        line += f"        value: {json.dumps(value)}\n"
    return line


def satisfied(f: Filter) -> CanaryEvent:
    event = canary_event(f, "u1", NOW)
    assert isinstance(event, CanaryEvent), event
    BusinessEvent.model_validate(event.document)  # the producer API takes it
    assert row_of(event.document) == event.row and matches(f, event.row)
    assert event.id == f"{CANARY_ID_PREFIX}route-x-u1" and is_canary_document(event.document)
    return event


def test_every_shipped_route_gets_a_canary_its_filter_routes() -> None:
    for f in load_filters(ROOT / "flink_sql" / "filters.yaml").active:
        event = canary_event(f, "u1", NOW)
        assert isinstance(event, CanaryEvent), event
        assert matches(f, event.row) and event.row["__op"] == "c"
        assert event.id.startswith(CANARY_ID_PREFIX + f.name.replace("_", "-"))
        entities = event.document["eventBody"]["entities"]
        assert all(e["updatedAttributes"][MARKER_ATTRIBUTE] == f.name for e in entities)


def test_the_row_carries_dates_as_debezium_writes_them() -> None:
    event = satisfied(one(cond("event_type", "equals", "LoanCreated")))
    assert event.row["created_date"] == "2026-01-02T03:04:05.123456Z"
    assert json.loads(event.row["event_data"]) == event.document


@pytest.mark.parametrize(
    ("conditions", "check"),
    [
        (cond("event_name", "in", ["A", "B"]), lambda e: e.row["event_name"] == "A"),
        (cond("event_name", "notIn", ["CdcOpsCanary"]), lambda e: e.row["event_name"]),
        (cond("event_type", "isNull"), lambda e: e.row["event_type"] is None),
        (cond("saved_date", "isNull"), lambda e: "savedDate" not in e.document["eventHeader"]),
        (cond("event_type", "isNotNull"), lambda e: e.row["event_type"]),
        (
            cond("event_name", "matches", "^Loan(Created|Paid)$")
            + cond("event_name", "notIn", ["LoanCreated"]),
            lambda e: e.row["event_name"] == "LoanPaid",
        ),
        (cond("id", "matches", "^cdc-ops-canary-route"), lambda e: True),
        (cond("created_date", "matches", r"^2026-01-02T"), lambda e: True),
        (
            cond("event_data.eventHeader.savedDate", "greaterThan", 1_700_000_000_000),
            lambda e: isinstance(e.document["eventHeader"]["savedDate"], int),
        ),
        (
            cond(
                "event_data.eventBody.entities[2].updatedAttributes.loan.amount",
                "between",
                [100, 200.5],
            )
            + cond("event_data.eventBody.entities[2].entityType", "equals", "Loan")
            + cond("event_data.eventBody.entities[0].updatedAttributes.vip", "equals", True),
            lambda e: len(e.document["eventBody"]["entities"]) == 3,
        ),
        (
            cond("event_data.eventBody.entities[0].updatedAttributes.n", "greaterThan", 5)
            + cond("event_data.eventBody.entities[0].updatedAttributes.n", "lessThan", 6),
            lambda e: e.document["eventBody"]["entities"][0]["updatedAttributes"]["n"] == 5.5,
        ),
        (
            cond("event_data.eventBody.entities[0].updatedAttributes.tags[1]", "equals", "x"),
            lambda e: e.document["eventBody"]["entities"][0]["updatedAttributes"]["tags"][1] == "x",
        ),
        (
            cond("event_data.eventBody.entities[0].entityId", "matches", "^car-[0-9]{3}$"),
            lambda e: e.document["eventBody"]["entities"][0]["entityId"] == "car-000",
        ),
        (cond("event_data.unknown", "isNull"), lambda e: True),
    ],
)
def test_conditions_are_met_by_what_the_api_accepts(conditions: str, check) -> None:
    assert check(satisfied(one(conditions)))


def test_match_any_needs_one_condition_that_can_hold() -> None:
    f = one(cond("event_data.foo", "equals", "x") + cond("event_type", "equals", "Car"), "any")
    assert satisfied(f).row["event_type"] == "Car"


@pytest.mark.parametrize(
    ("conditions", "match", "operations", "reason"),
    [
        (cond("id", "equals", "evt-1"), "all", "[c]", "conflict with the canary marker"),
        (cond("event_type", "isNotNull"), "all", "[d]", "operations [d] exclude an insert"),
        (cond("event_type", "isNotNull"), "all", "[u, d]", "operations [u, d] exclude"),
        (cond("event_data.foo", "equals", "x"), "all", "[c]", "in no document the producer"),
        (cond("event_data.eventBody.entities", "isNotNull"), "all", "[c]", "in no document"),
        (cond("created_date", "greaterThan", 5), "all", "[c]", "no value the producer API"),
        (cond("event_name", "isNull"), "all", "[c]", "no value the producer API accepts"),
        (
            cond(
                f"event_data.eventBody.entities[0].updatedAttributes.{MARKER_ATTRIBUTE}",
                "equals",
                "x",
            ),
            "all",
            "[c]",
            f"conflict with the canary marker ({MARKER_ATTRIBUTE}",
        ),
        (
            cond("event_data.eventBody.entities[600].entityType", "equals", "Loan"),
            "all",
            "[c]",
            "no value the producer API accepts",
        ),
        (
            cond("event_data.eventBody.entities[0].updatedAttributes.a", "equals", "1")
            + cond("event_data.eventBody.entities[0].updatedAttributes.a.b", "equals", "2"),
            "all",
            "[c]",
            "need updatedAttributes path a as a value and an object",
        ),
        (
            cond("event_data.foo", "equals", "x") + cond("id", "equals", "evt-1"),
            "any",
            "[c]",
            "match any, and none holds",
        ),
        (cond("event_name", "matches", "^(?!x)x$"), "all", "[c]", "no value"),
    ],
)
def test_a_route_no_canary_satisfies_says_why(conditions, match, operations, reason) -> None:
    result = canary_event(one(conditions, match, operations), "u1", NOW)
    assert isinstance(result, Unsatisfiable) and result.route == "route_x"
    assert reason in result.reason, result.reason


def test_no_canary_is_faked_over_random_filters() -> None:
    """Whatever the conditions, an event is only given when the evaluator routes it."""
    values = ["LoanCreated", 5, 2.5, True, "^Loan", "x"]
    fields = [
        "id",
        "event_name",
        "event_type",
        "created_date",
        "event_data.eventBody.entities[0].entityType",
        "event_data.eventBody.entities[1].updatedAttributes.k",
        "event_data.eventHeader.eventName",
    ]
    import random

    rng = random.Random(7)
    produced = 0
    for _ in range(300):
        parts = ""
        for _ in range(rng.randint(1, 3)):
            op = rng.choice(
                [
                    "equals",
                    "in",
                    "notIn",
                    "greaterThan",
                    "lessThanOrEqual",
                    "matches",
                    "isNull",
                    "isNotNull",
                    "between",
                ]
            )
            field = rng.choice(fields)
            v = rng.choice(values)
            value = {
                "in": [v, "y"],
                "notIn": [v],
                "greaterThan": 3,
                "lessThanOrEqual": 10,
                "between": [1, 9],
                "matches": str(v) if isinstance(v, str) else "^L",
                "isNull": None,
                "isNotNull": None,
            }.get(op, v)
            parts += cond(field, op, value)
        f = one(parts, rng.choice(["all", "any"]))
        result = canary_event(f, "u1", NOW)
        if isinstance(result, CanaryEvent):
            produced += 1
            assert matches(f, result.row) and re.match(CANARY_ID_PREFIX, result.id)
            BusinessEvent.model_validate(result.document)
        else:
            assert result.reason
    assert produced > 100  # most of them can be met
