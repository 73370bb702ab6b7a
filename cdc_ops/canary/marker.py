"""What marks a canary event: an id no business event has, so a consumer skips it (and its
delete) by the id alone, whichever operation the record carries. Inside the document every
entity carries the marker attribute too, so a canary read anywhere (a table, a topic, a dump)
cannot be taken for a business event."""

from __future__ import annotations

from typing import Any

CANARY_ID_PREFIX = "cdc-ops-canary-"
#: the attribute every canary entity carries (its value is the route the canary measures)
MARKER_ATTRIBUTE = "cdcOpsCanary"
#: the event name and entity type a canary uses where its route's filter does not decide them
CANARY_NAME = "CdcOpsCanary"


def is_canary(event_id: str | None) -> bool:
    return bool(event_id) and event_id.startswith(CANARY_ID_PREFIX)


def canary_id(route: str, unique: str) -> str:
    """cdc-ops-canary-<route>-<unique>; the producer API's ids take no underscore."""
    return f"{CANARY_ID_PREFIX}{route.replace('_', '-')}-{unique}"


def is_canary_document(document: dict[str, Any]) -> bool:
    """A producer API document that is a canary: its id and the marker on its entities."""
    header = document.get("eventHeader") or {}
    entities = (document.get("eventBody") or {}).get("entities") or []
    return is_canary(header.get("uuid")) and all(
        MARKER_ATTRIBUTE in (e.get("updatedAttributes") or {}) for e in entities
    )
