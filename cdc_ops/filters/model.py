"""flink_sql/filters.yaml: the routing rules operators edit, validated field by field.

Every problem is reported at once with the file, line and column, and for a closed set (an
operator, an operation, a field) the allowed values.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import reprlib
import unicodedata
import warnings
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from cdc_ops.errors import CdcOpsError
from cdc_ops.yaml_positions import YamlProblem, line_column, nearest, positions
from cdc_ops.yaml_positions import load as load_yaml

# the patterns end in \Z, not $ (which also matches before a final newline)
#: Flat columns of raw-business-events a filter may test.
FLAT_FIELDS = ("id", "event_name", "event_type", "created_date", "saved_date")
#: A path into the event_data JSON: event_data.a.b[0].c (ASCII digits; Jackson reads documents
#: at most 1000 deep, a path of 64 levels is plenty)
JSON_FIELD = re.compile(r"event_data(\.[A-Za-z_][A-Za-z0-9_]{0,63}(\[[0-9]{1,9}\])?){1,64}\Z")
#: Sink topic names: Kafka's legal characters, and nothing that needs quoting beyond backquotes.
TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}\Z")
NAME = re.compile(r"[a-z][a-z0-9_]{0,62}\Z")
#: Flink writes a string literal into generated Java code, whose constants hold at most 64 KB
MAX_VALUE_LENGTH = 4096
#: what would end a comment line, hide or reorder text on screen, or not encode as UTF-8:
#: control (Cc), format (Cf: bidi marks, zero widths), surrogates (Cs), line/paragraph separators
_HIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}


class FiltersError(CdcOpsError):
    """filters.yaml is not valid; the message names file, line, column and the allowed values."""


class Operator(StrEnum):
    EQUALS = "equals"
    IN = "in"
    NOT_IN = "notIn"
    GREATER_THAN = "greaterThan"
    LESS_THAN = "lessThan"
    GREATER_THAN_OR_EQUAL = "greaterThanOrEqual"
    LESS_THAN_OR_EQUAL = "lessThanOrEqual"
    BETWEEN = "between"
    MATCHES = "matches"
    IS_NULL = "isNull"
    IS_NOT_NULL = "isNotNull"


NUMERIC = {
    Operator.GREATER_THAN,
    Operator.LESS_THAN,
    Operator.GREATER_THAN_OR_EQUAL,
    Operator.LESS_THAN_OR_EQUAL,
}
Scalar = str | int | float | bool


class Operation(StrEnum):
    CREATE = "c"
    UPDATE = "u"
    DELETE = "d"
    READ = "r"  # snapshot rows


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = _SHOWN.maxlong = 60
_SHOWN.maxlevel = 2  # an aliased structure can be huge, or a cycle


def shown(value: Any, limit: int = 60) -> str:
    """A value as an error quotes it: repr, cut short (without building the whole repr)."""
    text = _SHOWN.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hidden_character(text: str) -> str | None:
    """The first character of text that has no place in one line of SQL, named."""
    if text.isprintable():  # the common case, in C
        return None
    for ch in text:
        if unicodedata.category(ch) in _HIDDEN:
            return f"U+{ord(ch):04X} {unicodedata.name(ch, '') or repr(ch)}"
    return None


def has_control_characters(text: str) -> bool:
    return hidden_character(text) is not None


def _hidden_problem(text: str, what: str) -> str | None:
    found = hidden_character(text)
    if found is None:
        return None
    return (
        f"control characters (line breaks, tabs, bidi or zero-width marks) are not allowed in "
        f"{what}: {found} in {shown(text)}"
    )


def _value_problem(x: Any, in_list: bool) -> str | None:
    """Why x cannot be one Flink SQL literal, or None."""
    if isinstance(x, bool) or (isinstance(x, int) and not isinstance(x, bool)):
        return None
    if isinstance(x, float):
        if not math.isfinite(x):
            return f"{x!r} is not a finite number (Flink SQL has no literal for it)"
        return None
    if isinstance(x, str):
        if len(x) > MAX_VALUE_LENGTH:
            return f"a value holds at most {MAX_VALUE_LENGTH} characters, this one {len(x)}"
        return _hidden_problem(x, "a value")
    if x is None:
        return "null inside a list never matches in SQL (use isNull)" if in_list else None
    if isinstance(x, dt.date):
        return f"{x} is read by YAML as a date; quote it ('{x}') to compare it as text"
    kinds = "a string, a number or true/false" + ("" if in_list else ", or a list of them")
    return f"a value is {kinds}; got {type(x).__name__} {shown(x)}"


class Condition(_Strict):
    field: str
    operator: Operator
    value: Scalar | list[Scalar] | None = None

    @field_validator("field")
    @classmethod
    def _known_field(cls, v: str) -> str:
        if v in FLAT_FIELDS or JSON_FIELD.match(v):
            return v
        raise ValueError(
            f"unknown field {shown(v)}; use one of {', '.join(FLAT_FIELDS)} or a JSON path like "
            "event_data.eventBody.entities[0].entityType (at most 64 levels)"
        )

    @field_validator("value", mode="before")
    @classmethod
    def _representable(cls, v: Any) -> Any:
        # refused here, where the error names its place in the file, rather than by the
        # compiler: every value must be one Flink SQL literal
        for x in v if isinstance(v, list) else [v]:
            problem = _value_problem(x, isinstance(v, list))
            if problem:
                raise ValueError(problem)
        return v

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Condition:
        op, v = self.operator, self.value
        if op in (Operator.IS_NULL, Operator.IS_NOT_NULL):
            if v is not None:
                raise ValueError(f"{op.value} takes no value")
        elif op in (Operator.IN, Operator.NOT_IN):
            if not isinstance(v, list) or not v:
                raise ValueError(f"{op.value} needs a non-empty list of values")
        elif op is Operator.BETWEEN:
            if not (isinstance(v, list) and len(v) == 2 and all(_is_number(x) for x in v)):
                raise ValueError(
                    "between needs a list of two numbers [low, high] a DOUBLE can hold, got "
                    + shown(v)
                )
            if float(v[0]) > float(v[1]):
                raise ValueError(f"between: low {shown(v[0])} is above high {shown(v[1])}")
        elif op in NUMERIC:
            if not _is_number(v):
                raise ValueError(f"{op.value} needs a number a DOUBLE can hold, got {shown(v)}")
        elif op is Operator.MATCHES:
            if not isinstance(v, str):
                raise ValueError("matches needs a regular expression string")
            problem = regex_problem(v)
            if problem:
                raise ValueError(f"matches: invalid regular expression {shown(v)}: {problem}")
        elif op is Operator.EQUALS and (v is None or isinstance(v, list)):
            raise ValueError("equals needs one value (use isNull for null, in for a list)")
        return self


def _is_number(v: Any) -> bool:
    """A number the generated SQL compares as a DOUBLE: finite once converted."""
    if not isinstance(v, int | float) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


#: a brace that is not a repetition {n}, {n,} or {n,m}: Python reads it as a brace, Java refuses
_REPETITION = re.compile(r"\{[0-9]+(,[0-9]*)?\}")


def regex_problem(regex: str) -> str | None:
    """Why a regular expression is refused: Python cannot compile it, or it is Python's syntax
    that Flink's java.util.regex refuses or reads differently (the evaluator must agree)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        re.purge()  # a cached pattern is not parsed again, and would not warn again
        try:
            re.compile(regex)
        except (re.error, OverflowError, RecursionError) as exc:
            return str(exc)
    if caught:  # a nested set, or && -- || ~~ in a set: a set operation in Java
        return f"Java reads it differently ({caught[0].message})"
    k, in_set = 0, False
    while k < len(regex):
        ch = regex[k]
        if ch == "\\":
            if regex[k + 1 : k + 2] == "Z" and not in_set:
                # Python's \Z is the very end, Java's allows a last line break, as $ does in both
                return "\\Z is read differently in Java: write $"
            k += 2
            continue
        if in_set:
            in_set = ch != "]"
        elif ch == "[":
            in_set = True
            k += 1 + (regex[k + 1 : k + 2] == "^")
            k += regex[k : k + 1] == "]"  # a ] first in a set is a character
            continue
        elif regex.startswith(("(?P", "(?(", "(?#"), k):
            return f"{regex[k : k + 3]} is Python's syntax, not Java's"
        elif ch == "{" and not _REPETITION.match(regex, k):
            return "a { that is not a repetition {n}, {n,} or {n,m}: write \\{"
        k += 1
    return None


class Filter(_Strict):
    name: str
    description: str = ""
    output_topic: str = Field(alias="outputTopic")
    operations: list[Operation] = Field(default_factory=lambda: [Operation.CREATE], min_length=1)
    match: str = "all"
    conditions: list[Condition] = Field(min_length=1)
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME.match(v):
            raise ValueError(
                f"{shown(v)} is not a valid filter name: lowercase letters, digits and _, starting "
                "with a letter, at most 63 characters"
            )
        return v

    @field_validator("description")
    @classmethod
    def _one_line(cls, v: str) -> str:
        # it is written into the generated SQL as a -- comment: a newline would end it
        problem = _hidden_problem(v, "a description")
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("output_topic")
    @classmethod
    def _topic(cls, v: str) -> str:
        if not TOPIC.match(v) or v in (".", ".."):
            raise ValueError(
                f"{shown(v)} is not a valid Kafka topic name (letters, digits, . _ -; not . or ..)"
            )
        return v

    @field_validator("match")
    @classmethod
    def _match(cls, v: str) -> str:
        if v not in ("all", "any"):
            raise ValueError(f"{shown(v)} is not one of: all, any")
        return v


class FilterFile(_Strict):
    version: int = 1
    filters: list[Filter] = Field(min_length=1)
    # where the file came from and where each of its keys stands, for the compiler's refusals
    _source: str = PrivateAttr("filters.yaml")
    _marks: dict[tuple[Any, ...], tuple[int, int]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _unique(self) -> FilterFile:
        for attr, what in (("name", "name"), ("output_topic", "outputTopic")):
            seen: dict[str, int] = {}
            for i, f in enumerate(self.filters):
                value = getattr(f, attr)
                if value in seen:
                    raise PydanticCustomError(
                        "duplicate",
                        "filters[{first}] already has {what} {value}",
                        {
                            "what": what,
                            "value": shown(value),
                            "first": seen[value],
                            "at": ("filters", i, what),
                        },
                    )
                seen[value] = i
        return self

    @property
    def active(self) -> list[Filter]:
        return [f for f in self.filters if f.enabled]

    def place(self, *loc: Any) -> str:
        """file:line:column: path, of loc (or its closest ancestor in the file)."""
        line, column = nearest(loc, self._marks) or (1, 1)
        return f"{self._source}:{line}:{column}: {_path_text(loc)}"


_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _path_text(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif isinstance(part, str) and _KEY.match(part):
            out += f".{part}" if out else part
        else:  # a key no one would type on purpose: quoted, so the message stays one line
            out += f"[{shown(part, 40)}]"
    return out or "(file)"


def parse_filters(text: str, source: str = "filters.yaml") -> FilterFile:
    try:
        data, node = load_yaml(text)
    except YamlProblem as exc:
        raise FiltersError(
            f"{source}:{exc.line}:{exc.column}: not valid YAML: {exc.message}"
        ) from None
    if not isinstance(data, dict):
        line, col = (node.start_mark.line + 1, node.start_mark.column + 1) if node else (1, 1)
        raise FiltersError(f"{source}:{line}:{col}: expected a mapping with a 'filters' list")
    marks = positions(node)
    try:
        filters = FilterFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if p not in ("function-after", "str", "int"))
            if err["type"] == "duplicate":
                loc = err["ctx"]["at"]
            line, col = nearest(loc, marks) or (1, 1)
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "enum":
                message = f"{shown(err['input'])} is not one of: {err['ctx']['expected']}"
            elif err["type"] == "extra_forbidden":
                message = "unknown key"
            problems.append(f"{source}:{line}:{col}: {_path_text(loc)}: {message}")
        raise FiltersError("invalid filters:\n  " + "\n  ".join(problems)) from None
    filters._source, filters._marks = source, marks
    return filters


def load_filters(path: Path) -> FilterFile:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FiltersError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8", "replace")
        line, col = line_column(before, len(before))
        raise FiltersError(
            f"{path}:{line}:{col}: not UTF-8: byte 0x{raw[exc.start]:02x} ({exc.reason})"
        ) from None
    return parse_filters(text, str(path))
