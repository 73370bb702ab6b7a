"""What the producer API accepts: a business event and a car, validated field by field.

Dates are epoch milliseconds (as the seeds' producers send them) or ISO 8601; a date without a
zone is taken as UTC. Unknown keys are rejected so a misspelt field is an error, not lost data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from cdc_ops.producer.documents import (
    NO_NUL_PATTERN,
    STORABLE_JSON_MARKER,
    STORABLE_OBJECT_SCHEMA,
    text_problem,
    unstorable,
)


def _storable_text(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _storable_json(value: dict[str, Any]) -> dict[str, Any]:
    problem = unstorable(value)
    if problem:
        raise ValueError(problem)
    return value


# kept as sent (not stripped: what a client's JSON Schema validator accepts is what is stored)
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255),
    AfterValidator(_storable_text),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 255, "pattern": NO_NUL_PATTERN}),
]


def _json_integer(value: Any) -> Any:
    # an integer as JSON Schema counts them (2004 and 2004.0), never text or true/false
    if isinstance(value, bool | str):
        raise ValueError("Input should be a valid integer")
    return value


JsonInteger = Annotated[int, BeforeValidator(_json_integer)]
# what the seeds' producers send (epoch milliseconds) and ISO 8601, as the document says
Timestamp = Annotated[
    datetime,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {
                    "type": "number",
                    "description": "epoch milliseconds",
                    # years 1 to 9999, what a datetime holds
                    "minimum": -62135596800000,
                    "maximum": 253402300799999,
                },
            ]
        }
    ),
]
# free-form JSON stored in a JSONB column
Attributes = Annotated[
    dict[str, Any], AfterValidator(_storable_json), WithJsonSchema(STORABLE_OBJECT_SCHEMA)
]
IDENTIFIER_PATTERN = r"^[A-Za-z0-9._:@-]+$"
Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=IDENTIFIER_PATTERN)
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class EventHeader(_Strict):
    uuid: Identifier
    event_name: Name = Field(alias="eventName")
    event_type: Name | None = Field(None, alias="eventType")
    created_date: Timestamp | None = Field(None, alias="createdDate")
    saved_date: Timestamp | None = Field(None, alias="savedDate")

    _zone = field_validator("created_date", "saved_date")(_utc)


class Entity(_Strict):
    entity_type: Name = Field(alias="entityType")
    entity_id: Identifier = Field(alias="entityId")
    updated_attributes: Attributes = Field(default_factory=dict, alias="updatedAttributes")


class EventBody(_Strict):
    entities: list[Entity] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _entities_unique(self) -> EventBody:
        seen: set[tuple[str, str]] = set()
        for entity in self.entities:
            key = (entity.entity_type, entity.entity_id)
            if key in seen:
                raise ValueError(f"entity {key[0]}/{key[1]} appears more than once")
            seen.add(key)
        return self


class BusinessEvent(_Strict):
    event_header: EventHeader = Field(alias="eventHeader")
    event_body: EventBody = Field(alias="eventBody")

    @property
    def id(self) -> str:
        return self.event_header.uuid

    def __repr__(self) -> str:
        # Powertools' router formats its route arguments into a debug message on every request,
        # logged or not: the full repr of 500 entities cost more than the insert
        return f"BusinessEvent(uuid={self.id!r}, entities={len(self.event_body.entities)})"


class Car(BaseModel):
    """A car entity. Known fields are checked; further attributes are kept as given."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "propertyNames": {"pattern": NO_NUL_PATTERN},
            "additionalProperties": STORABLE_JSON_MARKER,
        },
    )

    id: Identifier | None = None
    make: Name
    model: Name
    # "2000" or true is not a year (lax parsing stored false as 0); 2000.0 is
    year: JsonInteger = Field(ge=1886, le=2100)
    vin: Annotated[str, StringConstraints(pattern=r"^[A-HJ-NPR-Z0-9]{17}$")] | None = None
    color: Name | None = None
    # the schema spelled out: pydantic writes the bound of an optional validated int as "ge"
    mileage: (
        Annotated[JsonInteger, Field(ge=0), WithJsonSchema({"type": "integer", "minimum": 0})]
        | None
    ) = None

    def unstorable_attribute(self) -> tuple[str, str] | None:
        """The first further attribute PostgreSQL cannot store, and why: (name, problem)."""
        for name, value in (self.model_extra or {}).items():
            problem = text_problem(name)
            if problem:
                return name[:40], f"the attribute name {problem}"
            problem = unstorable({name: value})
            if problem:
                return name, problem
        return None
