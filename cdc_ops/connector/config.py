"""The CDC source connector's configuration: one typed model, the seeds' four variants.

- debezium: io.debezium.connector.postgresql.PostgresConnector on Kafka Connect, with
  ExtractNewRecordState; Flink SQL with `__op`.
- confluent_v2: Confluent Cloud's PostgresCdcSourceV2, with ExtractNewRecordState.
- confluent_fixed: Confluent Cloud's PostgresCdcSource, with ExtractNewRecordState.
- confluent_basic: PostgresCdcSource without it (deprecated): no `__op`, the no-op Flink SQL.

Every variant: JSON converters without schemas, the table public.business_events, slot
business_events_cdc_slot with pgoutput, a heartbeat that writes the heartbeat table (so an idle
database still confirms WAL), routing of every record to raw-business-events, and the cluster
endpoint - never the proxy, which does not carry replication.

The debezium variant also reads the signal table (incremental snapshots on demand, see
cdc_ops.connector.snapshot) and drops that table's own change records before they are sent.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from enum import StrEnum

from cdc_ops.clients.database_secret import database_password
from cdc_ops.settings import Settings

JSON_CONVERTER = "org.apache.kafka.connect.json.JsonConverter"
DEBEZIUM_CLASS = "io.debezium.connector.postgresql.PostgresConnector"
TOPIC_NAME_MATCHES = "org.apache.kafka.connect.transforms.predicates.TopicNameMatches"
#: What the connector captures (table.include.list), as Debezium names tables: schema.table
CAPTURED_TABLES = ("public.business_events",)


class Variant(StrEnum):
    DEBEZIUM = "debezium"
    CONFLUENT_V2 = "confluent_v2"
    CONFLUENT_FIXED = "confluent_fixed"
    CONFLUENT_BASIC = "confluent_basic"


class FlinkSqlVariant(StrEnum):
    WITH_OP = "with_op"  # the connector adds __op, __table, __ts_ms
    NO_OP = "no_op"  # Flink has to make do without them


@dataclass(frozen=True)
class ConnectorSpec:
    """What a rendered variant needs from its surroundings."""

    variant: Variant
    config: dict[str, str]
    flink_sql: FlinkSqlVariant
    deprecated: bool = False


class DeprecatedConnectorVariant(DeprecationWarning):
    """confluent_basic lacks ExtractNewRecordState; Flink must add the CDC fields itself."""


def heartbeat_query(table: str) -> str:
    return (
        f"INSERT INTO {table} (id, beat_at) VALUES (1, now())"
        " ON CONFLICT (id) DO UPDATE SET beat_at = EXCLUDED.beat_at"
    )


def heartbeat_topic(settings: Settings) -> str:
    """Where Debezium sends its heartbeat records (topic.heartbeat.prefix + topic.prefix); the
    broker creates no topic on its own, so whoever runs the broker creates this one."""
    return f"__debezium-heartbeat.{settings.names.project}"


def signal_collection(settings: Settings) -> str:
    """The signal table as Debezium names it (signal.data.collection): schema.table."""
    return f"public.{settings.names.signal_table}"


def signal_topic(settings: Settings) -> str:
    """Where Debezium would send the signal table's change records (it captures the table it
    reads signals from); they are dropped before that, so this topic never exists."""
    return f"{settings.names.project}.{signal_collection(settings)}"


def _signalling(settings: Settings) -> dict[str, str]:
    return {
        "signal.data.collection": signal_collection(settings),
        # the signal table, read from the WAL; its default, stated because the rest relies on it
        "signal.enabled.channels": "source",
        # its default too: every chunk leaves a window-open and a window-close row in the signal
        # table, which snapshot_windows() counts; insert_delete would delete the open rows
        "incremental.snapshot.watermarking.strategy": "insert_insert",
        # Debezium emits the signal table's changes (its window rows included) like any captured
        # table's; the broker creates no topic on its own, so they are dropped, not routed
        "predicates": "isSignal",
        "predicates.isSignal.type": TOPIC_NAME_MATCHES,
        "predicates.isSignal.pattern": re.escape(signal_topic(settings)),
        "transforms.dropSignals.type": "org.apache.kafka.connect.transforms.Filter",
        "transforms.dropSignals.predicate": "isSignal",
    }


def _common(settings: Settings) -> dict[str, str]:
    db, names, c = settings.database, settings.names, settings.connector
    password = database_password(settings) or ""
    return {
        "name": c.name,
        "tasks.max": "1",
        # the cluster endpoint: RDS Proxy does not carry logical replication
        "database.hostname": db.cluster_host or "",
        "database.port": str(db.cluster_port),
        "database.user": db.user,
        "database.password": password,
        "database.dbname": db.name,
        "table.include.list": ",".join(CAPTURED_TABLES),
        "slot.name": names.replication_slot,
        "plugin.name": "pgoutput",
        "publication.name": names.publication,
        # cdc-ops creates the publication with the schema; the connector must not widen it
        "publication.autocreate.mode": "disabled",
        "heartbeat.interval.ms": str(c.heartbeat_interval_ms),
        "heartbeat.action.query": heartbeat_query(names.heartbeat_table),
        "snapshot.mode": c.snapshot_mode,
        "poll.interval.ms": str(c.poll_interval_ms),
        # Debezium retries a lost connection inside a RUNNING task, without end by default; a
        # bound lets a lasting failure show as FAILED, where the health sensor takes over
        "errors.max.retries": str(c.errors_max_retries),
        # a delete is one record with __deleted=true; no extra null-valued tombstone after it
        "tombstones.on.delete": "false",
    }


def _unwrap_and_route(prefix: str, raw_topic: str, unwrap: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    transforms = []
    if unwrap:
        transforms.append("unwrap")
        out |= {
            "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
            "transforms.unwrap.add.fields": "op,table,ts_ms",
            # deletes become a record with __deleted=true instead of disappearing
            "transforms.unwrap.delete.tombstone.handling.mode": "rewrite",
        }
    transforms.append("route")
    out |= {
        "transforms": ",".join(transforms),
        "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
        # only the table's records: heartbeats keep their own topic
        "transforms.route.regex": rf"{re.escape(prefix)}\.public\.business_events",
        "transforms.route.replacement": raw_topic,
    }
    return out


def render(settings: Settings, variant: Variant | str | None = None) -> ConnectorSpec:
    """The connector configuration for a variant (default: connector.variant in settings)."""
    chosen = Variant(variant or settings.connector.variant)
    raw = settings.names.raw_topic
    prefix = settings.names.project
    common = _common(settings)
    if chosen is Variant.DEBEZIUM:
        config = {
            "connector.class": DEBEZIUM_CLASS,
            **common,
            "topic.prefix": settings.names.project,
            "key.converter": JSON_CONVERTER,
            "key.converter.schemas.enable": "false",
            "value.converter": JSON_CONVERTER,
            "value.converter.schemas.enable": "false",
            # JSONB arrives as a JSON string; timestamps with time zone as ISO-8601 strings
            "decimal.handling.mode": "string",
            **_unwrap_and_route(prefix, raw, unwrap=True),
            **_signalling(settings),
        }
        # the signal table's records are dropped first, before anything else looks at them
        config["transforms"] = f"dropSignals,{config['transforms']}"
        return ConnectorSpec(chosen, config, FlinkSqlVariant.WITH_OP)
    # No signalling for the Confluent Cloud variants (yet): V2's page lists incremental snapshots
    # among its features, but the docs at hand do not show which signal keys (or the Filter SMT
    # with a predicate) the managed connector accepts; check them with Confluent's config
    # validation before adding _signalling() here. The legacy PostgresCdcSource is end of life.
    managed = {
        "kafka.auth.mode": "KAFKA_API_KEY",
        "kafka.api.key": _secret(settings.kafka.api_key),
        "kafka.api.secret": _secret(settings.kafka.api_secret),
        "output.data.format": "JSON",
        "output.key.format": "JSON",
    }
    if chosen is Variant.CONFLUENT_V2:
        config = {
            "connector.class": "PostgresCdcSourceV2",
            **common,
            **managed,
            "topic.prefix": settings.names.project,
            **_unwrap_and_route(prefix, raw, unwrap=True),
        }
        return ConnectorSpec(chosen, config, FlinkSqlVariant.WITH_OP)
    legacy = {
        "connector.class": "PostgresCdcSource",
        **common,
        **managed,
        "database.server.name": settings.names.project,
    }
    if chosen is Variant.CONFLUENT_FIXED:
        return ConnectorSpec(
            chosen, legacy | _unwrap_and_route(prefix, raw, unwrap=True), FlinkSqlVariant.WITH_OP
        )
    warnings.warn(
        "connector variant confluent_basic has no ExtractNewRecordState: records carry no "
        "__op/__table/__ts_ms and need the no-op Flink SQL; use confluent_v2 or confluent_fixed",
        DeprecatedConnectorVariant,
        stacklevel=2,
    )
    return ConnectorSpec(
        chosen, legacy | _unwrap_and_route(prefix, raw, unwrap=False), FlinkSqlVariant.NO_OP, True
    )


def _secret(value: object) -> str:
    return value.get_secret_value() if value is not None else ""  # type: ignore[attr-defined]


SECRET_KEYS = ("database.password", "kafka.api.secret", "kafka.api.key")


def redacted(config: dict[str, str]) -> dict[str, str]:
    """The configuration as it may be shown (Dagster metadata, logs)."""
    return {k: ("***" if k in SECRET_KEYS and v else v) for k, v in config.items()}
