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

from assets.keys import CDC_CONNECTOR, topic_key
from assets.resources import CdcOpsResource
from cdc_ops.kafka_topics import TopicAdmin
from cdc_ops.settings import Settings


def topic_specs(settings: Settings) -> list[AssetSpec]:
    names = settings.names
    raw = AssetSpec(
        topic_key(names.raw_topic),
        deps=[CDC_CONNECTOR],
        description=f"Kafka topic `{names.raw_topic}`: every change captured from business_events.",
        metadata={"topic": names.raw_topic},
        group_name="kafka",
    )
    filtered = [
        AssetSpec(
            topic_key(topic),
            # Issue 7 puts the Flink statement that fills each filtered topic in between.
            deps=[raw.key],
            description=f"Kafka topic `{topic}`: events routed by the Flink SQL filters.",
            metadata={"topic": topic},
            group_name="kafka",
        )
        for topic in names.filtered_topics
    ]
    return [raw, *filtered]


def build_topic_assets(settings: Settings):
    topics = settings.names.topics

    @multi_observable_source_asset(specs=topic_specs(settings), name="kafka_topics")
    def kafka_topics(context: AssetExecutionContext, cdc_ops: CdcOpsResource):
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

    return kafka_topics
