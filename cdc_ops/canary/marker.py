"""What marks a canary event: an id no business event has, so a consumer skips it (and its
delete) by the id alone, whichever operation the record carries."""

from __future__ import annotations

CANARY_ID_PREFIX = "cdc-ops-canary-"


def is_canary(event_id: str | None) -> bool:
    return bool(event_id) and event_id.startswith(CANARY_ID_PREFIX)
