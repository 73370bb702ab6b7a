"""Topics on the real local broker (Apache Kafka, one KRaft node)."""

from __future__ import annotations

import pytest
from confluent_kafka import Producer

from cdc_ops.kafka.topics import TopicAdmin, TopicSpec, client_config, pipeline_topics
from cdc_ops.settings import load_settings
from cdc_ops.tools.stack import Stack

pytestmark = pytest.mark.e2e


def test_pipeline_topics_exist_with_their_partitions(local_stack: Stack) -> None:
    settings = local_stack.settings
    have = TopicAdmin(settings).existing()
    for spec in pipeline_topics(settings):
        assert have[spec.name] == spec.partitions == 3
    assert TopicAdmin(settings).ensure(pipeline_topics(settings)) == []  # idempotent


def test_end_offsets_follow_what_is_produced(local_stack: Stack) -> None:
    settings = local_stack.settings
    topic = "cdc-ops-test-offsets"
    admin = TopicAdmin(settings)
    assert admin.ensure([TopicSpec(topic, 2)]) == [topic]
    # the producer's default batching, and a linger long enough that batches hold many messages:
    # the end offsets are exactly the messages produced
    producer = Producer({**client_config(settings), "linger.ms": 50})
    for i in range(1000):
        producer.produce(topic, value=f"m{i}".encode(), partition=i % 2)
    assert producer.flush(10) == 0
    (state,) = admin.describe([topic])
    assert (state.exists, state.partitions, state.end_offsets) == (True, 2, {0: 500, 1: 500})
    assert admin.describe(["no-such-topic"])[0].exists is False


def test_sasl_ssl_when_a_key_and_secret_are_set() -> None:
    config = client_config(load_settings(kafka={"api_key": "KEY", "api_secret": "SECRET"}))
    assert config["security.protocol"] == "SASL_SSL"
    assert (config["sasl.username"], config["sasl.password"]) == ("KEY", "SECRET")
    assert "security.protocol" not in client_config(load_settings())
