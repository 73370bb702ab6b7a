"""flink_sql/filters.yaml: the routing rules operators edit, validated field by field.

Every problem is reported at once with the file, line and column, and for a closed set (an
operator, an operation, a field) the allowed values.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cdc_ops.errors import CdcOpsError
from cdc_ops.yaml_positions import nearest, positions

#: Flat columns of raw-business-events a filter may test.
FLAT_FIELDS = ("id", "event_name", "event_type", "created_date", "saved_date")
#: A path into the event_data JSON: event_data.a.b[0].c
JSON_FIELD = re.compile(r"^event_data(\.[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?)+$")
#: Sink topic names: Kafka's legal characters, and nothing that needs quoting beyond backquotes.
TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


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
            f"unknown field {v!r}; use one of {', '.join(FLAT_FIELDS)} or a JSON path like "
            "event_data.eventBody.entities[0].entityType"
        )

    @field_validator("value")
    @classmethod
    def _representable(cls, v: Scalar | list[Scalar] | None) -> Scalar | list[Scalar] | None:
        # refused here, where the error names its place in the file, rather than by the
        # compiler: every value must be one Flink SQL literal
        for x in v if isinstance(v, list) else [v]:
            if isinstance(x, float) and not math.isfinite(x):
                raise ValueError(f"{x!r} is not a finite number (Flink SQL has no literal for it)")
            if isinstance(x, str) and has_control_characters(x):
                raise ValueError(f"control characters are not allowed in a value: {x!r}")
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
                raise ValueError("between needs a list of two numbers [low, high]")
            if v[0] > v[1]:
                raise ValueError(f"between: low {v[0]} is above high {v[1]}")
        elif op in NUMERIC:
            if not _is_number(v):
                raise ValueError(f"{op.value} needs a number, got {v!r}")
        elif op is Operator.MATCHES:
            if not isinstance(v, str):
                raise ValueError("matches needs a regular expression string")
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"matches: invalid regular expression {v!r}: {exc}") from None
        elif op is Operator.EQUALS and (v is None or isinstance(v, list)):
            raise ValueError("equals needs one value (use isNull for null, in for a list)")
        return self


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def has_control_characters(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


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
                f"{v!r} is not a valid filter name: lowercase letters, digits and _, starting "
                "with a letter, at most 63 characters"
            )
        return v

    @field_validator("description")
    @classmethod
    def _one_line(cls, v: str) -> str:
        # it is written into the generated SQL as a -- comment: a newline would end it
        if has_control_characters(v):
            raise ValueError(f"control characters (a newline, a tab) are not allowed: {v!r}")
        return v

    @field_validator("output_topic")
    @classmethod
    def _topic(cls, v: str) -> str:
        if not TOPIC.match(v):
            raise ValueError(f"{v!r} is not a valid Kafka topic name (letters, digits, . _ -)")
        return v

    @field_validator("match")
    @classmethod
    def _match(cls, v: str) -> str:
        if v not in ("all", "any"):
            raise ValueError(f"{v!r} is not one of: all, any")
        return v


class FilterFile(_Strict):
    version: int = 1
    filters: list[Filter] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> FilterFile:
        for attr, what in (("name", "name"), ("output_topic", "outputTopic")):
            seen: set[str] = set()
            for f in self.filters:
                value = getattr(f, attr)
                if value in seen:
                    raise ValueError(f"two filters have {what} {value!r}")
                seen.add(value)
        return self

    @property
    def active(self) -> list[Filter]:
        return [f for f in self.filters if f.enabled]


def _path_text(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def parse_filters(text: str, source: str = "filters.yaml") -> FilterFile:
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise FiltersError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise FiltersError(f"{source}:1:1: expected a mapping with a 'filters' list")
    marks = positions(node)
    try:
        return FilterFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if p not in ("function-after", "str", "int"))
            line, col = nearest(loc, marks) or (1, 1)
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "enum":
                message = f"{err['input']!r} is not one of: {err['ctx']['expected']}"
            elif err["type"] == "extra_forbidden":
                message = "unknown key"
            problems.append(f"{source}:{line}:{col}: {_path_text(loc)}: {message}")
        raise FiltersError("invalid filters:\n  " + "\n  ".join(problems)) from None


def load_filters(path: Path) -> FilterFile:
    try:
        text = path.read_text()
    except OSError as exc:
        raise FiltersError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_filters(text, str(path))
