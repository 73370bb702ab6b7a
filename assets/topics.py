"""Kafka topics of the pipeline, observed: partitions and end offsets.

End offsets are what the broker reports. The local tansu broker under-reports them when producers
batch (DESIGN.md); they are shown as reported, not corrected.
"""

from dagster import (
    AssetExecutionContext,
    AssetSpec,
    DataVersion,
    MetadataValue,
    ObserveResult,
    multi_observable_source_asset,
)

from assets.keys import CDC_CONNECTOR, statement_key, topic_key
from assets.resources import CdcOpsResource
from cdc_ops.filters.compiler import statement_name
from cdc_ops.filters.model import Filter
from cdc_ops.kafka_topics import TopicAdmin
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


def _observer(name: str, specs: list[AssetSpec]):
    topics = [spec.metadata["topic"] for spec in specs]

    @multi_observable_source_asset(specs=specs, name=name)
    def observe_topics(context: AssetExecutionContext, cdc_ops: CdcOpsResource):
        for state in TopicAdmin(cdc_ops.settings()).describe(topics):
            context.log.info(
                f"topic {state.name}: exists={state.exists} end={state.total_end_offset}"
            )
            yield ObserveResult(
                asset_key=topic_key(state.name),
                data_version=DataVersion(str(state.total_end_offset)),
                metadata={
                    "topic": state.name,
                    "exists": MetadataValue.bool(state.exists),
                    "partitions": MetadataValue.int(state.partitions),
                    "end_offset_total": MetadataValue.int(state.total_end_offset),
                    "end_offsets": MetadataValue.json(
                        {str(p): o for p, o in sorted(state.end_offsets.items())}
                    ),
                },
            )

    return observe_topics


def build_topic_assets(settings: Settings, filters: list[Filter] | None = None) -> list:
    """Two observers: the raw topic, and the filtered topics (which the statements sit between)."""
    raw, *filtered = topic_specs(settings, filters)
    return [_observer("raw_topic", [raw]), _observer("filtered_topics", filtered)]
