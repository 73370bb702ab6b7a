"""JSON the producer API can store: parsed strictly, then checked for what PostgreSQL refuses.

JSON allows what a JSONB or text column cannot hold: the NUL character (``\\u0000``), lone
surrogates (``\\ud800``, not Unicode at all), numbers beyond a double (``1e400`` parses as
infinity) and nesting deep enough to exhaust a parser's stack. Each is refused with the place it
occurs, so the client learns which field to fix instead of getting a 500 from the database.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

# JSON Schema of what unstorable() lets through, for the OpenAPI document: a string or a key
# holds no NUL (nothing JSON Schema can say expresses lone surrogates or the depth)
NO_NUL_PATTERN = "^[^\\u0000]*$"
STORABLE_JSON_SCHEMA_NAME = "StorableJson"
STORABLE_JSON_REF = f"#/components/schemas/{STORABLE_JSON_SCHEMA_NAME}"
STORABLE_JSON_SCHEMA = {
    "description": "any JSON value PostgreSQL can store: no NUL character (\\u0000) in a"
    " string or a key, no lone surrogate, numbers a double holds, at most 32 levels deep",
    "anyOf": [
        {"type": "string", "pattern": NO_NUL_PATTERN},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "array", "items": {"$ref": STORABLE_JSON_REF}},
        {
            "type": "object",
            "propertyNames": {"pattern": NO_NUL_PATTERN},
            "additionalProperties": {"$ref": STORABLE_JSON_REF},
        },
    ],
}
# pydantic resolves every "$ref" in a model's schema against its own definitions, so the models
# carry this marker, and the OpenAPI document has it replaced by the reference
STORABLE_JSON_MARKER = {"x-cdc-ops-storable-json": True}
STORABLE_OBJECT_SCHEMA = {
    "type": "object",
    "propertyNames": {"pattern": NO_NUL_PATTERN},
    "additionalProperties": STORABLE_JSON_MARKER,
}


def with_storable_json(document: Any) -> Any:
    """The OpenAPI document with the marker replaced by a reference to StorableJson, which it
    then defines."""

    def walk(node: Any) -> Any:
        if node == STORABLE_JSON_MARKER:
            return {"$ref": STORABLE_JSON_REF}
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    out = walk(document)
    schemas = out.setdefault("components", {}).setdefault("schemas", {})
    schemas[STORABLE_JSON_SCHEMA_NAME] = STORABLE_JSON_SCHEMA
    return out


# deeper than any event document needs, far below what Python's and PostgreSQL's parsers bear
MAX_DEPTH = 32
_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


class LongNumber:
    """An integer with more digits than Python parses (4300): kept as its digits, so the check
    below names where it is instead of the parse failing without a place."""

    __slots__ = ("digits",)

    def __init__(self, digits: str) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"<a number of {len(self.digits)} digits>"


def _integer(text: str) -> int | LongNumber:
    if len(text) > sys.get_int_max_str_digits():
        return LongNumber(text)
    return int(text)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(text: str) -> Any:
    """json.loads, refusing NaN and Infinity, and answering a body too deep to parse as
    JSONDecodeError (the router's "not valid JSON") rather than as a crash. An integer too long
    for Python is a LongNumber, which no model accepts and `unstorable` names."""
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_int=_integer)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    except ValueError as exc:  # NaN or Infinity
        raise json.JSONDecodeError(str(exc), text, 0) from None


def text_problem(value: str) -> str | None:
    found = _UNSTORABLE_TEXT.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains the NUL character (\\u0000), which PostgreSQL cannot store"
    return f"contains a lone surrogate (\\u{ord(found.group()):04x}), which is not Unicode"


def _place(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out[:200]


def unstorable(value: Any, max_depth: int = MAX_DEPTH) -> str | None:
    """Why a parsed JSON value cannot be stored, naming where inside it, or None."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return f"{_place(path) or 'the value'} {problem}"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"{_place(path) or 'the value'} is a number out of range"
        elif isinstance(item, LongNumber):
            limit = sys.get_int_max_str_digits()
            return f"{_place(path) or 'the value'} is a number of more than {limit} digits"
        elif isinstance(item, dict | list):
            if len(path) >= max_depth:
                return f"{_place(path)} is nested deeper than {max_depth} levels"
            if isinstance(item, dict):
                for key, child in item.items():
                    problem = text_problem(key)
                    if problem:
                        return f"key {_place((*path, key[:40]))!r} {problem}"
                    stack.append((child, (*path, key)))
            else:
                stack.extend((child, (*path, i)) for i, child in enumerate(item))
    return None
