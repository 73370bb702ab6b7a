"""filters.yaml → Flink SQL, for Confluent Cloud (with the connector's `__op`, or the no-op
workaround) and for Apache Flink (the kafka connector, JSON, servers from settings).

Nothing from the YAML reaches the SQL unchecked: identifiers are validated and back-quoted, string
literals are escaped (quotes doubled, control characters refused), JSON paths and regular
expressions are validated, numbers are rendered from finite numbers. A hostile value can only ever
be a literal, and a filter this compiler refuses is refused at its place in filters.yaml.

A filter selecting more than inserts lets a canary record (id CANARY_ID_PREFIX…) through only as
an insert, so a canary's delete, or a snapshot read of one, never reaches a filtered topic.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cdc_ops.canary.marker import CANARY_ID_PREFIX
from cdc_ops.filters.model import (
    JSON_FIELD,
    Condition,
    Filter,
    FilterFile,
    FiltersError,
    Operation,
    Operator,
    hidden_character,
    shown,
)

RAW_COLUMNS = (
    ("id", "STRING"),
    ("event_name", "STRING"),
    ("event_type", "STRING"),
    ("created_date", "STRING"),
    ("saved_date", "STRING"),
    ("event_data", "STRING"),
)
CDC_COLUMNS = (("__op", "STRING"), ("__table", "STRING"), ("__ts_ms", "BIGINT"))
SINK_COLUMNS = (*RAW_COLUMNS, ("__op", "STRING"), ("__table", "STRING"))
BOOTSTRAP_PLACEHOLDER = "${KAFKA_BOOTSTRAP_SERVERS}"
#: Flink's BIGINT; a wider integer literal is a DECIMAL of at most 38 digits, or refused
_BIGINT = 2**63


class CompileError(FiltersError):
    """A filter cannot be expressed for the chosen target. `at` is where in the filter (a key
    path below it), for compile_filters to name the place in the file."""

    def __init__(self, message: str, at: tuple[Any, ...] = ()) -> None:
        super().__init__(message)
        self.at = at


class Target(StrEnum):
    CONFLUENT = "confluent"  # connector adds __op/__table/__ts_ms (ExtractNewRecordState)
    CONFLUENT_NO_OP = "confluent-no-op"  # basic connector: Flink adds __op/__table
    APACHE_FLINK = "apache-flink"  # open-source Flink, kafka connector

    @property
    def file_name(self) -> str:
        return f"{self.value}.sql"


def ident(name: str) -> str:
    """A back-quoted identifier; a backquote in it is doubled, as Flink reads it."""
    if not name or hidden_character(name):
        raise CompileError(f"{shown(name)} cannot be used as an identifier")
    return "`" + name.replace("`", "``") + "`"


def literal(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):  # repr gives nan/inf, which Flink reads as column names
            raise CompileError(f"{shown(value)} is not a finite number")
        # compared with a DOUBLE anyway: an integer wider than BIGINT is written as one
        return repr(value) if isinstance(value, float) or abs(value) < _BIGINT else repr(number)
    text = str(value)
    found = hidden_character(text)
    if found:
        raise CompileError(f"control characters are not allowed in a value: {found}")
    return "'" + text.replace("'", "''") + "'"


def field_sql(field: str) -> str:
    if JSON_FIELD.match(field):
        return (
            f"JSON_VALUE({ident('event_data')}, {literal('$' + field.removeprefix('event_data'))})"
        )
    return ident(field)


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


COMPARISONS = {
    Operator.GREATER_THAN: ">",
    Operator.LESS_THAN: "<",
    Operator.GREATER_THAN_OR_EQUAL: ">=",
    Operator.LESS_THAN_OR_EQUAL: "<=",
}


def condition_sql(c: Condition) -> str:
    f, op, v = field_sql(c.field), c.operator, c.value
    number = f"TRY_CAST({f} AS DOUBLE)"
    match op:
        case Operator.EQUALS:
            return f"{f} = {literal(_as_text(v))}"
        case Operator.IN | Operator.NOT_IN:
            values = ", ".join(literal(_as_text(x)) for x in v)  # type: ignore[union-attr]
            return f"{f} {'NOT IN' if op is Operator.NOT_IN else 'IN'} ({values})"
        case _ if op in COMPARISONS:
            return f"{number} {COMPARISONS[op]} {literal(v)}"
        case Operator.BETWEEN:
            low, high = v  # type: ignore[misc]
            return f"{number} BETWEEN {literal(low)} AND {literal(high)}"
        case Operator.MATCHES:
            return f"REGEXP({f}, {literal(v)})"
        case Operator.IS_NULL:
            return f"{f} IS NULL"
        case Operator.IS_NOT_NULL:
            return f"{f} IS NOT NULL"
    raise CompileError(f"operator {op} has no SQL")


def _like_prefix(prefix: str) -> str:
    """The LIKE pattern (and ESCAPE clause) of exactly the texts starting with prefix: LIKE's own
    wildcards in it are escaped."""
    escaped = "".join("\\" + ch if ch in "%_\\" else ch for ch in prefix)
    escape = " ESCAPE '\\'" if escaped != prefix else ""
    return f"{literal(escaped + '%')}{escape}"


def where_sql(f: Filter, target: Target) -> str:
    joiner = " AND " if f.match == "all" else " OR "
    conditions = (
        "("
        + joiner.join(_at(("conditions", i), condition_sql, c) for i, c in enumerate(f.conditions))
        + ")"
    )
    if target is Target.CONFLUENT_NO_OP:
        if set(f.operations) != {Operation.CREATE}:
            raise CompileError(
                f"filter {f.name} selects operations {[o.value for o in f.operations]}: the no-op "
                "variant has no __op and treats every record as an insert (c)",
                at=("operations",),
            )
        return conditions
    op = ident("__op")
    ops = ", ".join(literal(o.value) for o in f.operations)
    where = f"{conditions} AND {op} IN ({ops})"
    if set(f.operations) != {Operation.CREATE}:
        # a canary is an insert, timed, then deleted: only the insert may pass
        event_id, canary = ident("id"), _like_prefix(CANARY_ID_PREFIX)
        where += f" AND ({op} = 'c' OR {event_id} IS NULL OR {event_id} NOT LIKE {canary})"
    return where


def _at(at: tuple[Any, ...], render: Any, *args: Any) -> str:
    """render(*args), a CompileError from it placed at `at` below the filter."""
    try:
        return render(*args)
    except CompileError as exc:
        raise CompileError(str(exc), at=(*at, *exc.at)) from None


def statement_name(f: Filter) -> str:
    return "cdc-filter-" + f.name.replace("_", "-")


def _columns(cols: tuple[tuple[str, str], ...]) -> str:
    return ",\n".join(f"    {ident(name)} {kind}" for name, kind in cols)


def _with(options: dict[str, str]) -> str:
    return ",\n".join(f"    {literal(k)} = {literal(v)}" for k, v in options.items())


@dataclass(frozen=True)
class Statement:
    name: str
    filter: Filter
    sink_ddl: str
    insert: str


@dataclass(frozen=True)
class Compiled:
    target: Target
    source_ddl: str
    statements: list[Statement]
    fingerprint: str

    def script(self) -> str:
        header = (
            f"-- Generated by `cdc-ops filters compile` from flink_sql/filters.yaml"
            f" ({self.fingerprint}); do not edit.\n-- Target: {self.target.value}"
        )
        parts = [header, self.source_ddl]
        for s in self.statements:
            # one comment line whatever the description holds (the model refuses newlines too)
            about = " ".join((s.filter.description or s.filter.name).split())
            parts += [f"-- {s.name}: {about}", s.sink_ddl, s.insert]
        return "\n\n".join(parts) + "\n"


def _source_ddl(target: Target, raw_topic: str, bootstrap: str) -> str:
    cols = RAW_COLUMNS if target is Target.CONFLUENT_NO_OP else (*RAW_COLUMNS, *CDC_COLUMNS)
    if target is Target.APACHE_FLINK:
        options = {
            "connector": "kafka",
            "topic": raw_topic,
            "properties.bootstrap.servers": bootstrap,
            "properties.group.id": "cdc-ops-filters",
            "scan.startup.mode": "group-offsets",
            "properties.auto.offset.reset": "earliest",
            "format": "json",
            "json.ignore-parse-errors": "true",
        }
    else:
        options = {
            "connector": "confluent",
            "value.format": "json-registry",
            "scan.startup.mode": "earliest-offset",
        }
    return (
        f"CREATE TABLE IF NOT EXISTS {ident(raw_topic)} (\n{_columns(cols)}\n)"
        f" WITH (\n{_with(options)}\n);"
    )


def _sink_ddl(target: Target, topic: str, bootstrap: str) -> str:
    if target is Target.APACHE_FLINK:
        options = {
            "connector": "kafka",
            "topic": topic,
            "properties.bootstrap.servers": bootstrap,
            "format": "json",
            "sink.delivery-guarantee": "at-least-once",
        }
    else:
        options = {"connector": "confluent", "value.format": "json-registry"}
    return (
        f"CREATE TABLE IF NOT EXISTS {ident(topic)} (\n{_columns(SINK_COLUMNS)}\n)"
        f" WITH (\n{_with(options)}\n);"
    )


def _insert(f: Filter, target: Target, raw_topic: str) -> str:
    flat = [ident(name) for name, _ in RAW_COLUMNS]
    if target is Target.CONFLUENT_NO_OP:
        meta = [f"'c' AS {ident('__op')}", f"'business_events' AS {ident('__table')}"]
    else:
        meta = [ident("__op"), ident("__table")]
    source = ident(raw_topic)
    if target is Target.APACHE_FLINK:
        # each statement keeps its own position in the raw topic
        group = literal(f"cdc-ops-{statement_name(f)}")
        source += f" /*+ OPTIONS('properties.group.id' = {group}) */"
    select = ",\n    ".join([*flat, *meta])
    return (
        f"INSERT INTO {ident(f.output_topic)}\nSELECT\n    {select}\nFROM {source}\n"
        f"WHERE {where_sql(f, target)};"
    )


def fingerprint(filters: FilterFile) -> str:
    canonical = json.dumps(filters.model_dump(mode="json", by_alias=True), sort_keys=True)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def compile_filters(
    filters: FilterFile,
    target: Target,
    raw_topic: str = "raw-business-events",
    bootstrap: str = BOOTSTRAP_PLACEHOLDER,
) -> Compiled:
    statements = []
    for i, f in enumerate(filters.filters):
        if not f.enabled:
            continue
        try:
            statements.append(
                Statement(
                    statement_name(f),
                    f,
                    _sink_ddl(target, f.output_topic, bootstrap),
                    _insert(f, target, raw_topic),
                )
            )
        except CompileError as exc:
            raise CompileError(f"{filters.place('filters', i, *exc.at)}: {exc}") from None
    return Compiled(
        target, _source_ddl(target, raw_topic, bootstrap), statements, fingerprint(filters)
    )
