"""One canary event per route: a document the producer API accepts whose row satisfies the
route's filter, derived from the filter's conditions and checked with the filter's own
evaluator on the raw-topic record it becomes. A route no generated event satisfies is reported
with the reason, never given an event that does not.

Where the conditions look:
- `id` is the canary's id (cdc-ops-canary-<route>-<unique>): conditions on it can only be met
  by that id; `event_name`, `event_type`, `created_date`, `saved_date` are the event header's
  fields (the flat columns repeat them; dates as Debezium writes a timestamptz);
- `event_data` is the whole document: its eventHeader fields, and each entity's entityType,
  entityId and updatedAttributes (free-form, so any path below them can be built). No other
  path exists in a document the API accepts (it refuses unknown keys).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from cdc_ops.canary import regex
from cdc_ops.canary.marker import CANARY_NAME, MARKER_ATTRIBUTE, canary_id
from cdc_ops.filters.evaluate import condition_holds, matches
from cdc_ops.filters.model import JSON_FIELD, Condition, Filter, Operation, Operator
from cdc_ops.producer.models import BusinessEvent

#: the producer API takes at most this many entities in one event
MAX_ENTITIES = 500
_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?")
# the flat columns and the event header key each repeats
_HEADER = {
    "id": "uuid",
    "event_name": "eventName",
    "event_type": "eventType",
    "created_date": "createdDate",
    "saved_date": "savedDate",
}
_DATES = ("createdDate", "savedDate")
_LOWER = {Operator.GREATER_THAN: False, Operator.GREATER_THAN_OR_EQUAL: True}
_UPPER = {Operator.LESS_THAN: False, Operator.LESS_THAN_OR_EQUAL: True}

Slot = tuple  # where a condition's field lives in the document (see _slot)


@dataclass(frozen=True)
class CanaryEvent:
    route: str
    id: str
    document: dict[str, Any]  # what is posted to the producer API
    row: dict[str, Any]  # the raw-topic record it becomes, as the evaluator reads it


@dataclass(frozen=True)
class Unsatisfiable:
    route: str
    reason: str


def debezium_timestamp(value: datetime | None) -> str | None:
    """A timestamptz as Debezium writes it to the raw topic (ISO 8601, UTC, microseconds)."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_of(document: dict[str, Any]) -> dict[str, Any]:
    """The raw-topic record an accepted document becomes on insert (ValidationError if the
    producer API would refuse it)."""
    h = BusinessEvent.model_validate(document).event_header
    return {
        "id": h.uuid,
        "event_name": h.event_name,
        "event_type": h.event_type,
        "created_date": debezium_timestamp(h.created_date),
        "saved_date": debezium_timestamp(h.saved_date),
        "event_data": json.dumps(document),
        "__op": Operation.CREATE.value,
        "__table": "business_events",
    }


def _slot(field: str) -> Slot:
    """("header", key) | ("entity", index, key) | ("attr", index, path) | ("marker", index)
    | ("none",): where the field is in a document, or that it is in none."""
    if not JSON_FIELD.match(field):
        return ("header", _HEADER[field])
    parts = _PATH_PART.findall(field.removeprefix("event_data"))
    names = [(name, int(index) if index else None) for name, index in parts]
    match names:
        case [("eventHeader", None), (key, None)] if key in _HEADER.values():
            return ("header", key)
        case [("eventBody", None), ("entities", int(i)), (key, None)] if key in (
            "entityType",
            "entityId",
        ):
            return ("entity", i, key)
        case [("eventBody", None), ("entities", int(i)), ("updatedAttributes", None), *rest] if (
            rest
        ):
            if rest[0][0] == MARKER_ATTRIBUTE:
                return ("marker", i)
            return ("attr", i, tuple(rest))
    return ("none",)


class _Conflict(ValueError):
    pass


@dataclass
class _Draft:
    """A canary document being built: the header, and per entity its fields and attributes."""

    route: str
    id: str
    now: datetime

    def __post_init__(self) -> None:
        self.header: dict[str, Any] = {
            "uuid": self.id,
            "eventName": CANARY_NAME,
            "eventType": CANARY_NAME,
            "createdDate": debezium_timestamp(self.now),
            "savedDate": debezium_timestamp(self.now),
        }
        self.entities: dict[int, dict[str, Any]] = {}
        self.attributes: dict[int, list[tuple[tuple, Any]]] = {}

    def set(self, slot: Slot, value: Any) -> None:
        kind = slot[0]
        if kind == "header":
            self.header[slot[1]] = value
        elif kind == "entity":
            self.entities.setdefault(slot[1], {})[slot[2]] = value
        elif kind == "attr":
            self.attributes.setdefault(slot[1], []).append((slot[2], value))
        elif kind == "marker":
            self.entities.setdefault(slot[1], {})  # the entity that carries it must exist

    def document(self) -> dict[str, Any]:
        count = max([0, *self.entities, *self.attributes]) + 1
        if count > MAX_ENTITIES:
            raise _Conflict(f"the producer API takes at most {MAX_ENTITIES} entities")
        entities = []
        for i in range(count):
            fields = self.entities.get(i, {})
            attributes: dict[str, Any] = {}
            for path, value in self.attributes.get(i, []):
                _put(attributes, path, value)
            attributes[MARKER_ATTRIBUTE] = self.route
            entities.append(
                {
                    "entityType": fields.get("entityType", CANARY_NAME),
                    "entityId": fields.get("entityId", self.id if i == 0 else f"{self.id}-{i}"),
                    "updatedAttributes": attributes,
                }
            )
        header = {k: v for k, v in self.header.items() if v is not None}
        return {"eventHeader": header, "eventBody": {"entities": entities}}


def _put(node: dict[str, Any], path: tuple, value: Any) -> None:
    """Set a value at a path of (name, index) parts, building objects and lists on the way."""
    *above, (name, index) = path
    for part_name, part_index in above:
        node = _child(node, part_name, part_index, {})
    if value is None:
        return  # a null here is an absent key
    if index is None:
        if name in node and node[name] != value:
            raise _Conflict(f"the conditions need updatedAttributes path {name} with two values")
        node[name] = value
        return
    items = node.setdefault(name, [])
    if not isinstance(items, list):
        raise _Conflict(
            f"the conditions need updatedAttributes path {name} as a list and as a value"
        )
    items.extend([None] * (index + 1 - len(items)))
    items[index] = value


def _child(node: dict[str, Any], name: str, index: int | None, empty: Any) -> Any:
    if index is None:
        child = node.setdefault(name, empty)
    else:
        items = node.setdefault(name, [])
        if not isinstance(items, list):
            raise _Conflict(
                f"the conditions need updatedAttributes path {name} as a list and an object"
            )
        items.extend([{} for _ in range(index + 1 - len(items))])
        child = items[index] if items[index] is not None else {}
        items[index] = child
    if not isinstance(child, dict):
        raise _Conflict(
            f"the conditions need updatedAttributes path {name} as a value and an object"
        )
    return child


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _render(number: float) -> int | float:
    return int(number) if number == int(number) and abs(number) < 1e15 else number


def _numbers(conditions: list[Condition]) -> list[int | float]:
    """Numbers every numeric condition among these accepts (integers first)."""
    low: tuple[float, bool] | None = None
    high: tuple[float, bool] | None = None
    for c in conditions:
        if c.operator in _LOWER:
            bound = (float(c.value), _LOWER[c.operator])  # type: ignore[arg-type]
            low = bound if low is None or bound[0] > low[0] else low
        elif c.operator in _UPPER:
            bound = (float(c.value), _UPPER[c.operator])  # type: ignore[arg-type]
            high = bound if high is None or bound[0] < high[0] else high
        elif c.operator is Operator.BETWEEN:
            lo, hi = (float(x) for x in c.value)  # type: ignore[union-attr]
            low = (lo, True) if low is None or lo > low[0] else low
            high = (hi, True) if high is None or hi < high[0] else high
    if low is None and high is None:
        return []
    lo = low[0] if low else high[0] - 2  # type: ignore[index]
    hi = high[0] if high else lo + 2
    picks = [math.floor(lo) + 1, math.ceil(lo), lo, math.ceil(hi) - 1, math.floor(hi), hi]
    picks.append((lo + hi) / 2)

    def inside(x: float) -> bool:
        above = low is None or x > low[0] or (low[1] and x == low[0])
        below = high is None or x < high[0] or (high[1] and x == high[0])
        return above and below and math.isfinite(x)

    ordered = sorted({_render(x) for x in picks if inside(x)}, key=lambda x: isinstance(x, float))
    return ordered


def _candidates(slot: Slot, conditions: list[Condition], draft: _Draft) -> Iterator[Any]:
    """Values to try for a slot, those the conditions name first; None is the absent value."""
    if slot[0] == "header" and slot[1] == "uuid":
        yield draft.id  # the canary's id and nothing else
        return
    if slot[0] == "marker":
        yield draft.route
        return
    if slot[0] == "none":
        yield None
        return
    for c in conditions:
        if c.operator in (Operator.EQUALS,):
            yield _text(c.value)
        elif c.operator is Operator.IN:
            yield from (_text(v) for v in c.value)  # type: ignore[union-attr]
        elif c.operator is Operator.MATCHES:
            found = regex.example(str(c.value))
            if found is not None:
                yield found
                yield f"{found}{CANARY_NAME}"
                yield f"{CANARY_NAME}{found}"
    for number in _numbers(conditions):
        # a date header field takes a number as epoch time; elsewhere it is text or JSON
        yield number if slot[0] == "attr" or slot[1:] and slot[-1] in _DATES else str(number)
    if slot[0] == "header" and slot[1] in _DATES:
        yield debezium_timestamp(draft.now)
        yield int(draft.now.timestamp() * 1000)
    else:
        # a notIn may rule one out
        yield from (CANARY_NAME, draft.id, f"{CANARY_NAME}-{draft.id}")
    yield None


def _describe(conditions: list[Condition]) -> str:
    def one(c: Condition) -> str:
        return f"{c.field} {c.operator.value}" + ("" if c.value is None else f" {c.value!r}")

    return ", ".join(one(c) for c in conditions)


def _why(slot: Slot, conditions: list[Condition], route: str) -> str:
    fields = sorted({c.field for c in conditions})
    if slot[0] == "header" and slot[1] == "uuid":
        return (
            f"conditions on {' and '.join(fields)} conflict with the canary marker (a canary's"
            f" id is {canary_id(route, '<unique>')}): {_describe(conditions)}"
        )
    if slot[0] == "marker":
        return (
            f"conditions on {' and '.join(fields)} conflict with the canary marker"
            f" ({MARKER_ATTRIBUTE} = {route!r}): {_describe(conditions)}"
        )
    if slot[0] == "none":
        return (
            f"{' and '.join(fields)} is in no document the producer API accepts (it takes"
            " eventHeader's uuid, eventName, eventType, createdDate, savedDate and each"
            " entity's entityType, entityId and updatedAttributes), so"
            f" {_describe(conditions)} never holds"
        )
    return f"no value the producer API accepts satisfies {_describe(conditions)}"


def _solve(
    slot: Slot, conditions: list[Condition], draft: _Draft, fits: Callable[[dict], bool]
) -> Any:
    """The first candidate for the slot with which the draft's document is accepted and
    `fits` its row; raises _Conflict when there is none."""
    for value in _candidates(slot, conditions, draft):
        trial = _Draft(draft.route, draft.id, draft.now)
        trial.set(slot, value)
        try:
            row = row_of(trial.document())
        except (ValidationError, _Conflict):
            continue
        if fits(row):
            return value
    raise _Conflict(_why(slot, conditions, draft.route))


def canary_event(f: Filter, unique: str, now: datetime) -> CanaryEvent | Unsatisfiable:
    """The canary for the route of filter `f`, or why there can be none."""
    if Operation.CREATE not in f.operations:
        ops = ", ".join(o.value for o in f.operations)
        return Unsatisfiable(f.name, f"operations [{ops}] exclude an insert (c): a canary is one")
    draft = _Draft(f.name, canary_id(f.name, unique), now)
    try:
        if f.match == "all":
            by_slot: dict[Slot, list[Condition]] = {}
            for c in f.conditions:
                by_slot.setdefault(_slot(c.field), []).append(c)
            for slot, conditions in by_slot.items():

                def holds(row: dict, conditions: list[Condition] = conditions) -> bool:
                    return all(condition_holds(c, row) for c in conditions)

                draft.set(slot, _solve(slot, conditions, draft, holds))
        else:
            reasons = []
            for c in f.conditions:
                try:
                    value = _solve(_slot(c.field), [c], draft, lambda row: matches(f, row))
                except _Conflict as exc:
                    reasons.append(str(exc))
                    continue
                draft.set(_slot(c.field), value)
                break
            else:
                raise _Conflict("match any, and none holds: " + "; ".join(reasons))
        document = draft.document()
        row = row_of(document)
    except _Conflict as exc:
        return Unsatisfiable(f.name, str(exc))
    except ValidationError as exc:
        return Unsatisfiable(f.name, f"the producer API would refuse the canary: {exc}")
    if not matches(f, row):
        # each condition holds on its own; together (paths that collide) they do not
        return Unsatisfiable(
            f.name,
            f"no generated event satisfies all of {_describe(f.conditions)} at once",
        )
    return CanaryEvent(f.name, draft.id, document, row)
