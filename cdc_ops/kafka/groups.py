"""Consumer-group lag: per partition, the broker's end offset minus the group's committed offset,
both the broker's own figures (exact, locally too: the local broker is Apache Kafka)."""

from __future__ import annotations

from dataclasses import dataclass, field

from confluent_kafka import Consumer, TopicPartition

from cdc_ops.kafka.topics import TopicAdmin, client_config
from cdc_ops.settings import ConsumerSpec, Settings


@dataclass(frozen=True)
class PartitionLag:
    partition: int
    committed: int | None  # None: the group has committed nothing here
    end: int
    lag: int


@dataclass(frozen=True)
class GroupLag:
    name: str
    group: str
    topic: str
    partitions: list[PartitionLag] = field(default_factory=list)
    dead_letters: int = 0
    topic_exists: bool = True

    @property
    def total(self) -> int:
        return sum(p.lag for p in self.partitions)


def group_lag(
    settings: Settings, spec: ConsumerSpec, have: dict[str, int] | None = None
) -> GroupLag:
    """`have`: the topics and their partition counts, when the caller has listed them already."""
    if have is None:
        have = TopicAdmin(settings, timeout_s=5).existing()
    if spec.topic not in have:
        return GroupLag(spec.name, spec.group, spec.topic, topic_exists=False)
    # reading a group's committed offsets does not join the group
    reader = Consumer(
        {**client_config(settings), "group.id": spec.group, "enable.auto.commit": False}
    )
    try:
        tps = [TopicPartition(spec.topic, p) for p in range(have[spec.topic])]
        partitions = []
        for tp in reader.committed(tps, timeout=10):
            low, high = reader.get_watermark_offsets(tp, timeout=10)
            committed = tp.offset if tp.offset >= 0 else None
            start = committed if committed is not None else low
            partitions.append(PartitionLag(tp.partition, committed, high, max(0, high - start)))
        dead = 0
        if spec.dead_letter_topic in have:
            for p in range(have[spec.dead_letter_topic]):
                low, high = reader.get_watermark_offsets(
                    TopicPartition(spec.dead_letter_topic, p), timeout=10
                )
                dead += high - low
    finally:
        reader.close()
    return GroupLag(spec.name, spec.group, spec.topic, partitions, dead)
