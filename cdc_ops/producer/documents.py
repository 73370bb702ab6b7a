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

# deeper than any event document needs, far below what Python's and PostgreSQL's parsers bear
MAX_DEPTH = 32
_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(text: str) -> Any:
    """json.loads, refusing NaN and Infinity, and answering a body too deep or a number too long
    to parse as JSONDecodeError (the router's "not valid JSON") rather than as a crash."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    except ValueError as exc:  # NaN/Infinity, or an integer over Python's 4300 digits
        message = str(exc)
        if "digits" in message:
            message = f"a number has more than {sys.get_int_max_str_digits()} digits"
        raise json.JSONDecodeError(message, text, 0) from None


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
