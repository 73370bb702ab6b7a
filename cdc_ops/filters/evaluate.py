"""The filters evaluated in Python, with the same semantics as the generated SQL.

Used to check routing end to end (which ids should land in which topic) and to preview a change.
SQL's NULL rules hold: a comparison with a missing value is not true. Text is read as a number
the way Flink's TRY_CAST(… AS DOUBLE) does (Java's Double.valueOf), and regular expressions with
Java's default ASCII classes. A canary record passes a filter of more than inserts only as one.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from cdc_ops.canary.marker import is_canary
from cdc_ops.filters.model import JSON_FIELD, Condition, Filter, Operation, Operator

_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)(?:\[([0-9]+)\])?")
#: what java.lang.Double.valueOf reads (after trimming characters up to a space)
_JAVA_DOUBLE = re.compile(
    r"[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?"
    r"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+[fFdD]?)\Z"
)
_JAVA_TRIMMED = "".join(chr(k) for k in range(33))


def field_value(record: dict[str, Any], field: str) -> str | None:
    """A flat column, or JSON_VALUE of a path into event_data (scalars only, as text)."""
    if not JSON_FIELD.match(field):
        value = record.get(field)
        return None if value is None else str(value)
    try:
        node: Any = json.loads(record.get("event_data") or "null")
    except (ValueError, RecursionError):  # Jackson refuses documents that deep too
        return None
    for name, index in _PATH_PART.findall(field.removeprefix("event_data")):
        node = node.get(name) if isinstance(node, dict) else None
        if index and node is not None:
            node = node[int(index)] if isinstance(node, list) and int(index) < len(node) else None
    if node is None or isinstance(node, dict | list):
        return None
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    text = text.strip(_JAVA_TRIMMED)
    if not _JAVA_DOUBLE.match(text):
        return None  # Python's float() also reads "inf", "1_000", " ٣ ": Java does not
    body = text if text.lstrip("+-").startswith("N") else text.rstrip("fFdD")
    hexadecimal = "x" in body.lower()
    value = float.fromhex(body) if hexadecimal else float(body.replace("Infinity", "inf"))
    return None if math.isnan(value) else value  # NaN compares false, as NULL does here


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def condition_holds(c: Condition, record: dict[str, Any]) -> bool:
    value = field_value(record, c.field)
    op = c.operator
    if op is Operator.IS_NULL:
        return value is None
    if op is Operator.IS_NOT_NULL:
        return value is not None
    if value is None:
        return False
    if op is Operator.EQUALS:
        return value == _text(c.value)
    if op is Operator.IN:
        return value in {_text(v) for v in c.value}  # type: ignore[union-attr]
    if op is Operator.NOT_IN:
        return value not in {_text(v) for v in c.value}  # type: ignore[union-attr]
    if op is Operator.MATCHES:  # Java's \d \w \s are ASCII unless asked otherwise
        return re.search(str(c.value), value, re.ASCII) is not None
    number = _number(value)
    if number is None:
        return False
    if op is Operator.BETWEEN:
        low, high = c.value  # type: ignore[misc]
        return float(low) <= number <= float(high)  # Flink compares them as DOUBLEs
    limit = float(c.value)  # type: ignore[arg-type]
    return {
        Operator.GREATER_THAN: number > limit,
        Operator.LESS_THAN: number < limit,
        Operator.GREATER_THAN_OR_EQUAL: number >= limit,
        Operator.LESS_THAN_OR_EQUAL: number <= limit,
    }[op]


def matches(f: Filter, record: dict[str, Any], with_op: bool = True) -> bool:
    """Would this raw-topic record be routed by the filter?"""
    if not f.enabled:
        return False
    results = (condition_holds(c, record) for c in f.conditions)
    selected = all(results) if f.match == "all" else any(results)
    if not with_op:
        return selected
    op = record.get("__op")
    if not selected or op not in {o.value for o in f.operations}:
        return False
    # as the compiled statement: a canary record passes a filter of more than inserts only as c
    only_inserts = set(f.operations) == {Operation.CREATE}
    return only_inserts or op == "c" or not is_canary(field_value(record, "id"))
