"""A broker that lost its data, noticed: the log directory wiped under a stopped broker, which
then starts empty. The sensor pages (critical) and says on each topic what was lost."""

from __future__ import annotations

import shutil
import time

import pytest
from confluent_kafka import Consumer, Producer

from assets.keys import topic_key
from cdc_ops.adapters import Adapters
from cdc_ops.alerts.delivery import Alerter, LogDestination
from cdc_ops.kafka.topics import client_config
from cdc_ops.settings import Settings
from cdc_ops.tools.stack import Stack
from sensors.factory import run_tick
from sensors.kafka_data_loss import kafka_data_loss_verdict
from tests.helpers import Recorder

pytestmark = pytest.mark.e2e


def test_a_wiped_broker_is_a_critical_alert(scratch_settings: Settings) -> None:
    settings = scratch_settings
    stack = Stack(settings)
    stack.up(["kafka"])  # creates the pipeline's topics
    spec = settings.consumers.consumers[0]
    producer = Producer(client_config(settings))
    for i in range(50):
        producer.produce(settings.names.raw_topic, value=f"r{i}".encode())
        producer.produce(spec.topic, value=f"f{i}".encode())
    assert producer.flush(10) == 0
    consumer = Consumer(
        {
            **client_config(settings),
            "group.id": spec.group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([spec.topic])
    got = 0
    while got < 50:
        got += len(consumer.consume(50, timeout=5))
    consumer.commit(asynchronous=False)
    consumer.close()

    recorder = Recorder()
    alerter = Alerter(settings, [recorder, LogDestination()])
    first = run_tick(kafka_data_loss_verdict, None, Adapters(settings), alerter)
    assert first.notifications == [] and first.summary == "nothing lost on the broker"
    again = run_tick(kafka_data_loss_verdict, first.cursor, Adapters(settings), alerter)
    assert again.notifications == []

    # the log directory goes while the broker is stopped; `up` formats a new one
    stack.down(["kafka"])
    shutil.rmtree(stack.component("kafka").home / "data")
    stack.up(["kafka"])

    # a new broker answers for groups once it has created __consumer_offsets: until then the
    # tick holds (neither fires nor resolves)
    deadline = time.monotonic() + 30
    while True:
        lost = run_tick(kafka_data_loss_verdict, again.cursor, Adapters(settings), alerter)
        if not lost.summary.startswith("the broker could not be read"):
            break
        assert time.monotonic() < deadline, lost.summary
        time.sleep(1)
    fired = {n.alert.key: n for n in lost.notifications}
    assert fired, lost.summary
    assert {n.kind for n in fired.values()} == {"firing"}
    raw = settings.names.raw_topic
    # every partition that held messages (unkeyed sends fill one partition per batch)
    assert any(k.startswith(f"topic/{raw}/") for k in fired)
    assert any(k.startswith(f"topic/{spec.topic}/") for k in fired)
    assert f"group/{spec.group}/{spec.topic}" in fired
    assert all(n.alert.severity.name == "CRITICAL" for n in fired.values())
    assert sum("end offset 0, below the" in n.alert.summary for n in fired.values()) >= 2
    noted = {e.asset_key: e.metadata["data_loss"] for e in lost.result.asset_events}
    assert set(noted) == {topic_key(raw), topic_key(spec.topic)}
    assert "below the" in noted[topic_key(raw)].value
    assert recorder.bodies and all(b["kind"] == "firing" for b in recorder.bodies)

    # it stands on the next tick: nothing refilled the topics
    standing = run_tick(kafka_data_loss_verdict, lost.cursor, Adapters(settings), alerter)
    assert [n.kind for n in standing.notifications] == []  # no repeat within the cooldown
    assert "loss(es) on the broker" in standing.summary
