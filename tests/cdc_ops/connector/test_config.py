"""The four connector variants, rendered from one model (pure)."""

from __future__ import annotations

import re
import warnings

import pytest

from cdc_ops.connector.config import (
    DeprecatedConnectorVariant,
    FlinkSqlVariant,
    Variant,
    redacted,
    render,
    signal_topic,
)
from cdc_ops.settings import load_settings

SETTINGS = load_settings(
    database={"password": "pw-123456", "proxy_host": "proxy.internal"},
    kafka={"api_key": "KEY", "api_secret": "SECRET"},
)


@pytest.mark.parametrize(
    "variant", [Variant.DEBEZIUM, Variant.CONFLUENT_V2, Variant.CONFLUENT_FIXED]
)
def test_recommended_variants_unwrap_route_and_use_the_cluster_endpoint(variant) -> None:
    spec = render(SETTINGS, variant)
    c = spec.config
    assert spec.flink_sql is FlinkSqlVariant.WITH_OP and not spec.deprecated
    assert c["transforms"].endswith("unwrap,route")
    assert c["transforms.unwrap.type"] == "io.debezium.transforms.ExtractNewRecordState"
    assert c["transforms.unwrap.add.fields"] == "op,table,ts_ms"
    assert c["transforms.unwrap.delete.tombstone.handling.mode"] == "rewrite"
    assert c["transforms.route.replacement"] == "raw-business-events"
    assert c["transforms.route.regex"] == r"cdc\-streaming\.public\.business_events"
    assert c["tombstones.on.delete"] == "false"
    assert (c["slot.name"], c["plugin.name"]) == ("business_events_cdc_slot", "pgoutput")
    assert c["table.include.list"] == "public.business_events"
    assert c["heartbeat.action.query"].startswith("INSERT INTO cdc_heartbeat")
    assert c["heartbeat.interval.ms"] == "10000"
    # the cluster, never the proxy: RDS Proxy does not carry replication
    assert c["database.hostname"] == "127.0.0.1" and c["database.port"] == "55432"
    assert "proxy.internal" not in c.values()
    assert all(isinstance(v, str) for v in c.values())


def test_class_and_format_per_variant() -> None:
    debezium = render(SETTINGS, "debezium").config
    assert debezium["connector.class"] == "io.debezium.connector.postgresql.PostgresConnector"
    assert debezium["value.converter"] == "org.apache.kafka.connect.json.JsonConverter"
    assert debezium["value.converter.schemas.enable"] == "false"
    v2 = render(SETTINGS, "confluent_v2").config
    assert (v2["connector.class"], v2["output.data.format"]) == ("PostgresCdcSourceV2", "JSON")
    assert (v2["kafka.api.key"], v2["kafka.api.secret"]) == ("KEY", "SECRET")
    fixed = render(SETTINGS, "confluent_fixed").config
    assert fixed["connector.class"] == "PostgresCdcSource"


def test_basic_variant_warns_and_pairs_with_the_no_op_sql() -> None:
    with pytest.warns(DeprecatedConnectorVariant, match="no ExtractNewRecordState"):
        spec = render(SETTINGS, Variant.CONFLUENT_BASIC)
    assert spec.deprecated and spec.flink_sql is FlinkSqlVariant.NO_OP
    assert spec.config["transforms"] == "route"
    assert "transforms.unwrap.type" not in spec.config
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        render(SETTINGS, Variant.DEBEZIUM)  # the others do not warn


def test_secrets_are_redacted_for_display() -> None:
    shown = redacted(render(SETTINGS, "confluent_v2").config)
    assert shown["database.password"] == shown["kafka.api.secret"] == "***"
    assert "pw-123456" not in str(shown)


def test_debezium_reads_the_signal_table_and_drops_its_records() -> None:
    c = render(SETTINGS, "debezium").config
    assert c["signal.data.collection"] == "public.cdc_signal"
    assert c["signal.enabled.channels"] == "source"
    assert c["incremental.snapshot.watermarking.strategy"] == "insert_insert"
    # read from the WAL through the publication, not captured into a topic
    assert c["table.include.list"] == "public.business_events"
    assert c["transforms"] == "dropSignals,unwrap,route"
    assert c["transforms.dropSignals.type"] == "org.apache.kafka.connect.transforms.Filter"
    assert c["transforms.dropSignals.predicate"] == "isSignal"
    assert c["predicates"] == "isSignal"
    assert (
        c["predicates.isSignal.type"]
        == "org.apache.kafka.connect.transforms.predicates.TopicNameMatches"
    )
    pattern = c["predicates.isSignal.pattern"]
    assert re.fullmatch(pattern, signal_topic(SETTINGS))
    assert signal_topic(SETTINGS) == "cdc-streaming.public.cdc_signal"
    # the business table's topic is not dropped, and the route still sends it to the raw topic
    assert not re.fullmatch(pattern, "cdc-streaming.public.business_events")
    assert not re.fullmatch(pattern, "cdc-streaming.public.cdc_signalx")


def test_signal_names_follow_the_settings() -> None:
    settings = load_settings(
        database={"password": "pw"}, names={"signal_table": "ops_signal", "project": "p.x"}
    )
    c = render(settings, "debezium").config
    assert c["signal.data.collection"] == "public.ops_signal"
    assert re.fullmatch(c["predicates.isSignal.pattern"], "p.x.public.ops_signal")
    assert not re.fullmatch(c["predicates.isSignal.pattern"], "pXx.public.ops_signal")


@pytest.mark.parametrize("variant", ["confluent_v2", "confluent_fixed", "confluent_basic"])
def test_managed_variants_have_no_signalling(variant) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecatedConnectorVariant)
        c = render(SETTINGS, variant).config
    assert not {k for k in c if k.startswith(("signal.", "predicates", "incremental."))}
    assert "dropSignals" not in c["transforms"]
