"""Kafka topics of the pipeline: partitions and end offsets as the broker reports them, and a
`topic_exists` check each (exists with the expected partitions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dagster import AssetCheckSpec, AssetSpec, MetadataValue

from assets.health import observed_at
from assets.keys import CDC_CONNECTOR, TOPIC_CHECK, statement_key, topic_key
from cdc_ops.filters.compiler import statement_name
from cdc_ops.filters.model import Filter
from cdc_ops.health.reading import expected_partitions
from cdc_ops.health.verdicts import topic_health
from cdc_ops.kafka.topics import TopicState
from cdc_ops.settings import Settings


def topic_specs(settings: Settings, filters: list[Filter] | None = None) -> list[AssetSpec]:
    names = settings.names
    raw = AssetSpec(
        topic_key(names.raw_topic),
        deps=[CDC_CONNECTOR],
        description=f"Kafka topic `{names.raw_topic}`: every change captured from business_events.",
        metadata={"topic": names.raw_topic},
        group_name="kafka",
    )
    # a filtered topic hangs off the statement that fills it
    writers = {f.output_topic: statement_key(statement_name(f)) for f in filters or []}
    filtered = [
        AssetSpec(
            topic_key(topic),
            deps=[writers.get(topic, raw.key)],
            description=f"Kafka topic `{topic}`: events routed by the Flink SQL filters.",
            metadata={"topic": topic},
            group_name="kafka",
        )
        for topic in names.filtered_topics
    ]
    return [raw, *filtered]


def topic_check_specs(settings: Settings) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(
            TOPIC_CHECK,
            asset=topic_key(topic),
            description=f"`{topic}` exists with {expected_partitions(settings, topic)} partitions.",
        )
        for topic in settings.names.topics
    ]


def topic_metadata(state: TopicState, settings: Settings, at: datetime) -> dict[str, Any]:
    return {
        "topic": state.name,
        "exists": MetadataValue.bool(state.exists),
        "partitions": MetadataValue.int(state.partitions),
        "end_offset_total": MetadataValue.int(state.total_end_offset),
        "end_offsets": MetadataValue.json(
            {str(p): o for p, o in sorted(state.end_offsets.items())}
        ),
        "health": topic_health(state, expected_partitions(settings, state.name)).says,
        **observed_at(at),
    }
