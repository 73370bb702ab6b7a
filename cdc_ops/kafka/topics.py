"""Kafka topics through confluent-kafka's AdminClient: create explicitly, describe with offsets.

The control plane creates every topic itself (partitions chosen here, not by broker defaults),
before anything produces to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from cdc_ops.settings import Settings


def client_config(settings: Settings) -> dict[str, object]:
    """librdkafka settings; SASL_SSL when a Confluent Cloud key and secret are configured."""
    settings.require("kafka.bootstrap_servers")
    kafka = settings.kafka
    config: dict[str, object] = {
        "bootstrap.servers": kafka.bootstrap_servers,
        "socket.timeout.ms": int(kafka.request_timeout_s * 1000),
    }
    if kafka.api_key and kafka.api_secret:
        config |= {
            "security.protocol": "SASL_SSL",
            "sasl.mechanisms": "PLAIN",
            "sasl.username": kafka.api_key.get_secret_value(),
            "sasl.password": kafka.api_secret.get_secret_value(),
        }
    return config


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int


@dataclass
class TopicState:
    name: str
    exists: bool
    partitions: int = 0
    # end offset (high watermark) per partition, as the broker reports it
    end_offsets: dict[int, int] = field(default_factory=dict)

    @property
    def total_end_offset(self) -> int:
        return sum(self.end_offsets.values())


def pipeline_topics(settings: Settings) -> list[TopicSpec]:
    names = settings.names
    return [
        TopicSpec(names.raw_topic, names.raw_topic_partitions),
        *(TopicSpec(t, names.filtered_topic_partitions) for t in names.filtered_topics),
    ]


class TopicAdmin:
    def __init__(self, settings: Settings, timeout_s: float | None = None) -> None:
        self._config = client_config(settings)
        self._timeout = timeout_s or settings.kafka.request_timeout_s
        self._admin = AdminClient(self._config)

    def existing(self) -> dict[str, int]:
        """Topic name -> partition count."""
        metadata = self._admin.list_topics(timeout=self._timeout)
        return {
            name: len(t.partitions)
            for name, t in metadata.topics.items()
            if t.error is None and not name.startswith("__")
        }

    def ensure(self, specs: list[TopicSpec]) -> list[str]:
        """Create the topics that are missing; returns the names created. Idempotent."""
        have = self.existing()
        wanted = [
            NewTopic(s.name, num_partitions=s.partitions) for s in specs if s.name not in have
        ]
        created: list[str] = []
        if not wanted:
            return created
        for name, future in self._admin.create_topics(
            wanted, request_timeout=self._timeout
        ).items():
            try:
                future.result()
                created.append(name)
            except KafkaException as exc:
                # a concurrent creator got there first: the end state is what was asked for
                if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    raise
        return created

    def describe(self, names: list[str], have: dict[str, int] | None = None) -> list[TopicState]:
        """`have`: the topics and their partition counts, when the caller has listed them."""
        have = self.existing() if have is None else have
        consumer = Consumer(
            {**self._config, "group.id": "cdc-ops-observer", "enable.auto.commit": False}
        )
        try:
            states = []
            for name in names:
                if name not in have:
                    states.append(TopicState(name, exists=False))
                    continue
                offsets = {}
                for partition in range(have[name]):
                    _low, high = consumer.get_watermark_offsets(
                        TopicPartition(name, partition), timeout=self._timeout
                    )
                    offsets[partition] = high
                states.append(TopicState(name, True, have[name], offsets))
            return states
        finally:
            consumer.close()
