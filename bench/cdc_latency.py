"""Insert-to-raw-topic latency of the CDC path, p50/p99, over at least 1,000 events.

A throw-away PostgreSQL, Kafka broker (tansu) and embedded Debezium connector on free ports.
Each event is one committed INSERT into business_events, paced at --rate per second; the clock
starts after COMMIT returns and stops when a consumer (assigned to every partition of
raw-business-events) receives the record. Baseline, measured in the same run: the broker alone,
produce-to-consume of the same number of messages through a plain producer with the same linger.

    .venv/bin/python bench/cdc_latency.py [--events 1000] [--rate 200]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from confluent_kafka import OFFSET_END, Consumer, Producer, TopicPartition  # noqa: E402

from cdc_ops.clients.postgres import connect  # noqa: E402
from cdc_ops.kafka.topics import TopicAdmin, TopicSpec, client_config  # noqa: E402
from cdc_ops.settings import load_settings  # noqa: E402
from cdc_ops.tools.stack import Stack  # noqa: E402
from cdc_ops.tools.stack.scratch import scratch_env, scratch_state_dir  # noqa: E402


class Receiver(threading.Thread):
    """Consumes a topic from its end and notes when each wanted id arrives."""

    def __init__(self, settings, topic: str, partitions: int, expected: int) -> None:
        super().__init__(daemon=True)
        config = {
            **client_config(settings),
            "group.id": uuid.uuid4().hex,
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,
        }
        self.consumer = Consumer(config)
        self.consumer.assign([TopicPartition(topic, p, OFFSET_END) for p in range(partitions)])
        self.arrived: dict[str, float] = {}
        self.expected = expected
        self.done = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + 300
        while len(self.arrived) < self.expected and time.monotonic() < deadline:
            message = self.consumer.poll(0.05)
            if message is None or message.error() or message.value() is None:
                continue
            now = time.perf_counter()
            key = json.loads(message.value()).get("id")
            if key is not None and key not in self.arrived:
                self.arrived[key] = now
        self.consumer.close()
        self.done.set()


def stats(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "n": len(ordered),
        "p50_ms": round(1000 * pick(0.5), 1),
        "p99_ms": round(1000 * pick(0.99), 1),
        "max_ms": round(1000 * ordered[-1], 1),
        "mean_ms": round(1000 * statistics.fmean(ordered), 1),
    }


def cdc_run(settings, events: int, rate: float) -> dict[str, float]:
    names = settings.names
    receiver = Receiver(settings, names.raw_topic, names.raw_topic_partitions, events)
    receiver.start()
    time.sleep(1.0)  # assignment settles before the first insert
    committed: dict[str, float] = {}
    interval = 1.0 / rate
    with connect(settings) as conn:
        next_at = time.perf_counter()
        for i in range(events):
            uid = f"lat-{i}-{uuid.uuid4().hex[:6]}"
            with conn.transaction():
                conn.execute(
                    "INSERT INTO business_events (id, event_name, event_type, created_date,"
                    " saved_date, event_data) VALUES (%s, 'LoanCreated', 'LoanCreated', now(),"
                    ' now(), \'{"eventBody": {"entities": []}}\')',
                    (uid,),
                )
            committed[uid] = time.perf_counter()
            next_at += interval
            time.sleep(max(0.0, next_at - time.perf_counter()))
    receiver.done.wait(120)
    missing = set(committed) - set(receiver.arrived)
    if missing:
        raise SystemExit(f"{len(missing)} event(s) never reached {names.raw_topic}")
    return stats([receiver.arrived[k] - committed[k] for k in committed])


def kafka_run(settings, events: int, rate: float) -> dict[str, float]:
    topic = f"bench-latency-{uuid.uuid4().hex[:6]}"
    TopicAdmin(settings).ensure([TopicSpec(topic, 3)])
    receiver = Receiver(settings, topic, 3, events)
    receiver.start()
    time.sleep(1.0)
    producer = Producer({**client_config(settings), "linger.ms": 5, "acks": "all"})
    sent: dict[str, float] = {}
    interval = 1.0 / rate
    next_at = time.perf_counter()
    for i in range(events):
        uid = f"k-{i}"
        producer.produce(topic, key=uid.encode(), value=json.dumps({"id": uid}).encode())
        producer.flush(10)  # the connector's worker also flushes each batch
        sent[uid] = time.perf_counter()
        next_at += interval
        time.sleep(max(0.0, next_at - time.perf_counter()))
    receiver.done.wait(120)
    return stats([receiver.arrived[k] - sent[k] for k in sent if k in receiver.arrived])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0, help="inserts per second")
    args = parser.parse_args()

    state_dir = scratch_state_dir("cdc-ops-bench-cdc-")
    os.environ.update(scratch_env(state_dir))
    settings = load_settings()
    stack = Stack(settings)
    try:
        stack.up(["postgres", "kafka", "connector"])
        baseline = kafka_run(settings, args.events, args.rate)
        cdc = cdc_run(settings, args.events, args.rate)
    finally:
        stack.down()
        shutil.rmtree(state_dir, ignore_errors=True)
    ratio = round(cdc["p50_ms"] / max(baseline["p50_ms"], 0.1), 1)
    result = {
        "benchmark": "cdc_latency",
        "events": args.events,
        "rate_per_s": args.rate,
        "poll_interval_ms": settings.connector.poll_interval_ms,
        "cdc": cdc,
        "kafka_only": baseline,
        "p50_ratio_cdc_over_kafka": ratio,
    }
    out = ROOT / "bench" / "results" / "cdc_latency.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"kafka only : p50 {baseline['p50_ms']} ms, p99 {baseline['p99_ms']} ms")
    print(f"insert->raw: p50 {cdc['p50_ms']} ms, p99 {cdc['p99_ms']} ms, max {cdc['max_ms']} ms")
    print(f"wrote {out.relative_to(ROOT)}")
    print(
        f"CDC latency over {cdc['n']} events at {args.rate:g}/s: p50 {cdc['p50_ms']} ms,"
        f" p99 {cdc['p99_ms']} ms ({ratio}x the broker alone)"
    )


if __name__ == "__main__":
    main()
