"""Event and car validation (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from cdc_ops.producer.models import BusinessEvent, Car


def event(**header: object) -> dict:
    return {
        "eventHeader": {"uuid": "evt-1", "eventName": "LoanCreated", **header},
        "eventBody": {"entities": [{"entityType": "Loan", "entityId": "loan-1"}]},
    }


def test_dates_as_epoch_millis_iso_or_naive_are_utc() -> None:
    parsed = BusinessEvent.model_validate(
        event(createdDate=1705312200000, savedDate="2024-01-15T10:30:05")
    )
    assert parsed.event_header.created_date == datetime(2024, 1, 15, 9, 50, tzinfo=UTC)
    assert parsed.event_header.saved_date == datetime(2024, 1, 15, 10, 30, 5, tzinfo=UTC)
    assert parsed.event_body.entities[0].updated_attributes == {}


def locs(exc: ValidationError) -> set[tuple]:
    return {tuple(e["loc"]) for e in exc.errors()}


def test_every_bad_field_is_reported_at_once() -> None:
    bad = {
        "eventHeader": {"uuid": "has space", "eventName": "", "colour": 1},
        "eventBody": {"entities": [{"entityType": "Loan"}]},
    }
    with pytest.raises(ValidationError) as err:
        BusinessEvent.model_validate(bad)
    assert locs(err.value) == {
        ("eventHeader", "uuid"),
        ("eventHeader", "eventName"),
        ("eventHeader", "colour"),
        ("eventBody", "entities", 0, "entityId"),
    }


def test_an_event_needs_entities_each_once() -> None:
    with pytest.raises(ValidationError, match="at least 1 item"):
        BusinessEvent.model_validate({**event(), "eventBody": {"entities": []}})
    twice = event()
    twice["eventBody"]["entities"] *= 2
    with pytest.raises(ValidationError, match="entity Loan/loan-1 appears more than once"):
        BusinessEvent.model_validate(twice)


def test_car_checks_known_fields_and_keeps_the_rest() -> None:
    car = Car.model_validate({"make": "Volvo", "model": "XC60", "year": 2023, "trim": "R-Design"})
    assert car.model_dump(exclude_none=True) == {
        "make": "Volvo",
        "model": "XC60",
        "year": 2023,
        "trim": "R-Design",
    }
    with pytest.raises(ValidationError) as err:
        Car.model_validate({"make": "Volvo", "year": 1700, "vin": "IOQ"})
    assert locs(err.value) == {("model",), ("year",), ("vin",)}


def test_the_readme_request_body_is_a_valid_event() -> None:
    """The example a newcomer copies from the README is accepted as it stands."""
    import json
    import re

    from cdc_ops.producer.models import BusinessEvent
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    pattern = r"/api/v1/events -H 'content-type: application/json' -d '(.*?)'\n"
    body = re.search(pattern, readme, re.S).group(1)
    event = BusinessEvent.model_validate(json.loads(body))
    assert event.event_header.uuid == "evt-1001"
