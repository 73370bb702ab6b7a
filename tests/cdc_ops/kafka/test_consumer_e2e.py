"""The consumer runner and group lag on the real local broker: the runner joins its group by
subscribe(), producers batch as they do by default, and the lag is exact."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from cdc_ops.kafka.consumer import ConsumerRunner
from cdc_ops.kafka.groups import group_lag
from cdc_ops.kafka.topics import TopicAdmin, TopicSpec, client_config
from cdc_ops.settings import ConsumerSpec
from cdc_ops.tools.stack import Stack
from tests.cdc_ops.kafka.test_consumer_parse import record

pytestmark = pytest.mark.e2e


def test_process_dead_letter_commit_and_lag(local_stack: Stack) -> None:
    settings = local_stack.settings
    tag = uuid.uuid4().hex[:6]
    spec = ConsumerSpec(name="test", topic=f"test-consume-{tag}", group=f"test-group-{tag}")
    TopicAdmin(settings).ensure([TopicSpec(spec.topic, 2)])
    producer = Producer(client_config(settings))
    good = [f"{tag}-{i}" for i in range(5)]
    for i, uid in enumerate(good):
        producer.produce(spec.topic, value=record(id=uid), partition=i % 2)
    producer.produce(spec.topic, value=b"{broken", partition=0)
    producer.produce(spec.topic, value=record(event_data="nope"), partition=1)
    assert producer.flush(10) == 0
    assert group_lag(settings, spec).total == 7  # nothing committed yet

    seen: list[str] = []
    handled: list[tuple[str, str]] = []
    runner = ConsumerRunner(
        settings,
        spec,
        handler=lambda e, ent: handled.append((e.id, ent.entity_id)),
        on_processed=lambda e: seen.append(e.id),
    )
    stats = runner.run(max_messages=5)
    assert sorted(seen) == sorted(good) and stats.dead_lettered == 2
    assert sorted(handled) == sorted((uid, "l1") for uid in good)
    lag = group_lag(settings, spec)
    assert lag.total == 0
    assert lag.dead_letters == 2
    assert {p.partition: p.committed for p in lag.partitions} == {0: 4, 1: 3}

    dlq = Consumer({**client_config(settings), "group.id": f"r-{tag}", "enable.auto.commit": False})
    dlq.assign([TopicPartition(spec.dead_letter_topic, 0, 0)])
    letters = [dlq.poll(5) for _ in range(2)]
    dlq.close()
    reasons = sorted(dict(m.headers())["cdc-ops-reason"].decode() for m in letters)
    assert reasons[0].startswith("event_data is not JSON") and reasons[1].startswith("not JSON")

    # a restarted consumer carries on from the group's committed offsets
    producer.produce(spec.topic, value=record(id=f"{tag}-late"), partition=0)
    producer.flush(10)
    assert group_lag(settings, spec).total == 1
    later: list[str] = []
    ConsumerRunner(settings, spec, on_processed=lambda e: later.append(e.id)).run(max_messages=1)
    assert later == [f"{tag}-late"]
    assert group_lag(settings, spec).total == 0


def test_two_instances_of_a_consumer_share_its_partitions_by_subscribe(local_stack: Stack) -> None:
    """Group management for real: each instance is a member of the group, and the group's
    partitions are split between them (manual assignment would make no member at all)."""
    import threading
    import time

    from confluent_kafka.admin import AdminClient

    settings = local_stack.settings
    tag = uuid.uuid4().hex[:6]
    spec = ConsumerSpec(name="shared", topic=f"test-shared-{tag}", group=f"test-shared-{tag}")
    TopicAdmin(settings).ensure([TopicSpec(spec.topic, 4)])
    seen: list[list[str]] = [[], []]
    runners = [
        ConsumerRunner(settings, spec, on_processed=lambda e, i=i: seen[i].append(e.id))
        for i in range(2)
    ]
    threads = [threading.Thread(target=r.run, daemon=True) for r in runners]
    for t in threads:
        t.start()
    admin = AdminClient(client_config(settings))
    try:
        deadline = time.monotonic() + 30
        while True:
            (future,) = admin.describe_consumer_groups([spec.group]).values()
            group = future.result()
            owned = [
                sorted(tp.partition for tp in m.assignment.topic_partitions) for m in group.members
            ]
            if len(owned) == 2 and all(owned) and sorted(sum(owned, [])) == [0, 1, 2, 3]:
                break
            assert time.monotonic() < deadline, f"group never split: {group.state} {owned}"
            time.sleep(0.5)
        producer = Producer(client_config(settings))
        ids = [f"{tag}-{i}" for i in range(40)]
        for i, uid in enumerate(ids):
            producer.produce(spec.topic, value=record(id=uid), partition=i % 4)
        assert producer.flush(10) == 0
        deadline = time.monotonic() + 30
        while len(seen[0]) + len(seen[1]) < len(ids):
            assert time.monotonic() < deadline, (len(seen[0]), len(seen[1]))
            time.sleep(0.2)
        # each event once, and both instances did some of the work
        assert sorted(seen[0] + seen[1]) == sorted(ids)
        assert seen[0] and seen[1]
    finally:
        for r in runners:
            r.stop()
        for t in threads:
            t.join(30)
    assert group_lag(settings, spec).total == 0
