"""Producer API to filtered topic, per route: p50/p99 over a steady stream, and the time to deploy
the filter statements and to replace them.

A throw-away stack (PostgreSQL, PgBouncer, Kafka, Kafka Connect with Debezium, a Flink session
cluster and its SQL Gateway) on free ports. Each event is one POST through the producer API's
handler (the Lambda's code, in this process, its database reached through PgBouncer), paced at
--rate per second and spread evenly over the four shipped routes; the clock starts before the
handler is called and stops when a consumer, assigned to every filtered topic and the raw topic
from the end offsets read before the first event, receives the record. Which route each event
must reach is the Python evaluator's verdict on its raw record, so a lost or duplicated event is
counted, not assumed away.

Figures, in this order: deploying the four statements on a Flink that runs none; the latency
phase (no deploy during it); replacing one statement (its condition changed), then all four,
under the same stream, with the events lost and duplicated on each route counted across the
replacements and the worst latency seen during them. Baseline in the same run: the broker alone,
produce-to-consume of as many messages at the same pace (the ratio is the pipeline's p50 over it).

Goals (issue 17): p99 <= 1 s per route; one replacement <= 20 s; four statements deployed <= 30 s.

    .venv/bin/python bench/pipeline_latency.py [--events 2000] [--rate 50]
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# the handler's log line and metrics document per request would drown the figures
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

from bench.kafka_timing import end_offset, latency_stats  # noqa: E402
from cdc_ops.adapters import Adapters  # noqa: E402
from cdc_ops.filters.compiler import Compiled, Target, compile_filters, statement_name  # noqa: E402
from cdc_ops.filters.evaluate import matches  # noqa: E402
from cdc_ops.filters.files import FILTERS_FILE, compile_for  # noqa: E402
from cdc_ops.filters.model import Operator, parse_filters  # noqa: E402
from cdc_ops.flink.deploy import redeploy  # noqa: E402
from cdc_ops.flink.statements import RUNNING  # noqa: E402
from cdc_ops.kafka.topics import TopicAdmin, TopicSpec, client_config  # noqa: E402
from cdc_ops.producer.connections import postgres_database  # noqa: E402
from cdc_ops.settings import Settings, load_settings  # noqa: E402
from cdc_ops.tools.api_server import proxy_event  # noqa: E402
from cdc_ops.tools.stack import Stack  # noqa: E402
from cdc_ops.tools.stack.scratch import scratch_env, scratch_state_dir  # noqa: E402
from lambdas.producer_api.app import ProducerApi, make_service  # noqa: E402

COMPONENTS = [
    "postgres",
    "pgbouncer",
    "kafka",
    "connect",
    "flink",
    "flink-taskmanager",
    "sql-gateway",
]
GOAL_P99_MS = 1000.0
GOAL_REPLACE_ONE_S = 20.0
GOAL_DEPLOY_FOUR_S = 30.0
HEADERS = {"content-type": "application/json"}
# one document per shipped route: (eventName, eventType)
KINDS = [
    ("LoanCreated", "LoanCreated"),
    ("LoanPaymentSubmitted", "LoanPaymentSubmitted"),
    ("CarServiceDone", "CarService"),
    ("CarCreated", "CarCreated"),
]
CHANGED_ONE = "cdc-filter-car-created"


def document(uid: str, kind: int) -> dict[str, Any]:
    name, etype = KINDS[kind % len(KINDS)]
    return {
        "eventHeader": {"uuid": uid, "eventName": name, "eventType": etype},
        "eventBody": {
            "entities": [{"entityType": "Bench", "entityId": uid, "updatedAttributes": {}}]
        },
    }


class Arrivals(threading.Thread):
    """Every record of the watched topics from their end offsets: per (topic, id) the first
    arrival's perf_counter, how often it came, and each raw record as the filters see it."""

    def __init__(self, settings: Settings, topics: list[str]) -> None:
        super().__init__(daemon=True)
        config = {
            **client_config(settings),
            "group.id": uuid.uuid4().hex,
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,
        }
        self.consumer = Consumer(config)
        self.raw_topic = settings.names.raw_topic
        assignment = []
        for topic in topics:
            partitions = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
            for p in sorted(partitions):
                assignment.append(TopicPartition(topic, p, end_offset(self.consumer, topic, p)))
        self.consumer.assign(assignment)
        self.first: dict[tuple[str, str], float] = {}
        self.count: dict[tuple[str, str], int] = {}
        self.raw: dict[str, dict[str, Any]] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for message in self.consumer.consume(500, timeout=0.05):
                if message.error() or message.value() is None:
                    continue
                now = time.perf_counter()
                value = json.loads(message.value())
                key = (message.topic(), value.get("id"))
                self.count[key] = self.count.get(key, 0) + 1
                self.first.setdefault(key, now)
                if message.topic() == self.raw_topic:
                    self.raw.setdefault(value.get("id"), value)
        self.consumer.close()


class Stream(threading.Thread):
    """Events through the producer API's handler at a steady rate, until stopped or `limit`."""

    def __init__(self, settings: Settings, rate: float, tag: str, limit: int | None) -> None:
        super().__init__(daemon=True)
        self.api = ProducerApi(
            "bench-pipeline-latency",
            lambda: make_service(settings, postgres_database, auto_start=False),
        )
        self.rate, self.tag, self.limit = rate, tag, limit
        self.sent: dict[str, float] = {}  # id -> perf_counter before the call
        self.stop = threading.Event()
        self.failures: list[str] = []

    def warm(self) -> None:
        body = json.dumps(document(f"warm-{self.tag}", 0)).encode()
        self.api.handler(proxy_event("POST", "/api/v1/events", HEADERS, body, "127.0.0.1"), None)

    def run(self) -> None:
        interval, i = 1.0 / self.rate, 0
        next_at = time.perf_counter()
        while not self.stop.is_set() and (self.limit is None or i < self.limit):
            uid = f"{self.tag}-{i}"
            body = json.dumps(document(uid, i)).encode()
            began = time.perf_counter()
            answer = self.api.handler(
                proxy_event("POST", "/api/v1/events", HEADERS, body, "127.0.0.1"), None
            )
            if answer["statusCode"] == 201:
                self.sent[uid] = began
            else:
                self.failures.append(f"{uid}: {answer['statusCode']} {answer.get('body')}")
            i += 1
            next_at += interval
            time.sleep(max(0.0, next_at - time.perf_counter()))


def settle(arrivals: Arrivals, stream: Stream, compiled: Compiled, timeout_s: float = 120) -> dict:
    """Wait until every event sent is in every topic its raw record says; then count per route
    what arrived, what is missing, what came twice, and the latencies."""
    topic_of = {s.filter.output_topic: s for s in compiled.statements}
    deadline = time.monotonic() + timeout_s

    def expected() -> dict[str, set[str]]:
        want: dict[str, set[str]] = {t: set() for t in topic_of}
        for uid in stream.sent:
            record = arrivals.raw.get(uid)
            if record is None:
                continue
            for topic, s in topic_of.items():
                if matches(s.filter, record):
                    want[topic].add(uid)
        return want

    while True:
        raw_missing = [u for u in stream.sent if u not in arrivals.raw]
        want = expected()
        missing = {t: [u for u in ids if (t, u) not in arrivals.first] for t, ids in want.items()}
        if (not raw_missing and not any(missing.values())) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    time.sleep(3)  # a copy arrives after the original: give it time to show
    routes = {}
    for topic, ids in want.items():
        latencies = [
            arrivals.first[(topic, u)] - stream.sent[u] for u in ids if (topic, u) in arrivals.first
        ]
        extra = [
            u
            for (t, u), _ in arrivals.count.items()
            if t == topic and u in stream.sent and u not in ids
        ]
        routes[topic_of[topic].name] = {
            **latency_stats(latencies),
            "expected": len(ids),
            "lost": len(missing[topic]),
            "duplicated": sum(1 for u in ids if arrivals.count.get((topic, u), 0) > 1),
            "unexpected": len(extra),
        }
    raw_latencies = [
        arrivals.first[(arrivals.raw_topic, u)] - stream.sent[u]
        for u in stream.sent
        if (arrivals.raw_topic, u) in arrivals.first
    ]
    raw = {**latency_stats(raw_latencies), "lost": len(raw_missing)}
    return {"raw_topic": raw, "routes": routes}


def broker_baseline(settings: Settings, events: int, rate: float) -> dict[str, float]:
    topic = f"bench-baseline-{uuid.uuid4().hex[:6]}"
    TopicAdmin(settings).ensure([TopicSpec(topic, 3)])
    arrivals = Arrivals(settings, [topic])
    arrivals.start()
    producer = Producer({**client_config(settings), "linger.ms": 5, "acks": "all"})
    sent: dict[str, float] = {}
    interval, next_at = 1.0 / rate, time.perf_counter()
    for i in range(events):
        uid = f"b-{i}"
        sent[uid] = time.perf_counter()
        producer.produce(topic, key=uid.encode(), value=json.dumps({"id": uid}).encode())
        producer.flush(10)
        next_at += interval
        time.sleep(max(0.0, next_at - time.perf_counter()))
    deadline = time.monotonic() + 60
    while len([u for u in sent if (topic, u) in arrivals.first]) < events:
        if time.monotonic() > deadline:
            raise SystemExit("the broker baseline lost messages")
        time.sleep(0.2)
    arrivals.stop.set()
    arrivals.join(10)
    return latency_stats([arrivals.first[(topic, u)] - sent[u] for u in sent])


def variant(settings: Settings, edit) -> Compiled:
    """filters.yaml with `edit` applied to its parsed filters, compiled for this Flink."""
    filters = parse_filters(FILTERS_FILE.read_text(), str(FILTERS_FILE))
    changed = edit(filters)
    target = Target(settings.flink.target or "apache-flink")
    return compile_filters(
        changed, target, settings.names.raw_topic, bootstrap=settings.kafka.bootstrap_servers
    )


def widen(names: set[str], unused: str):
    """Each named filter's first condition also passes a second value: the SQL changes, the
    events routed do not (no benchmark event carries the added value)."""

    def edit(filters):
        out = []
        for f in filters.filters:
            if statement_name(f) in names:
                first = f.conditions[0]
                widened = first.model_copy(
                    update={"operator": Operator.IN, "value": [first.value, unused]}
                )
                f = f.model_copy(update={"conditions": [widened, *f.conditions[1:]]})
            out.append(f)
        return filters.model_copy(update={"filters": out})

    return edit


def timed_redeploy(compiled: Compiled, backend, settings: Settings, only=None) -> float:
    began = time.perf_counter()
    report = redeploy(
        compiled, backend, TopicAdmin(settings), settings.names.filtered_topic_partitions, only=only
    )
    took = time.perf_counter() - began
    if not report.ok or set(report.deployed.values()) != {RUNNING}:
        raise SystemExit(f"deploy failed: {report.failed or report.deployed}")
    return took


def run(args) -> dict[str, Any]:
    state_dir = scratch_state_dir("cdc-ops-bench-pipeline-")
    os.environ.update(scratch_env(state_dir))
    settings = load_settings()
    stack = Stack(settings)
    try:
        stack.up(COMPONENTS)
        backend = Adapters(settings).statement_backend
        if backend.names():
            raise SystemExit(f"the fresh stack's Flink already runs {backend.names()}")
        shipped = compile_for(settings)
        deploy_four_s = timed_redeploy(shipped, backend, settings)
        baseline = broker_baseline(settings, min(args.events, 1000), args.rate)

        topics = [settings.names.raw_topic, *(s.filter.output_topic for s in shipped.statements)]
        arrivals = Arrivals(settings, topics)
        arrivals.start()
        steady = Stream(settings, args.rate, f"lat-{uuid.uuid4().hex[:6]}", args.events)
        steady.warm()
        steady.start()
        steady.join()
        latency = settle(arrivals, steady, shipped)

        # the replacements, under the same stream: one statement, then all four
        during = Stream(settings, args.rate, f"rep-{uuid.uuid4().hex[:6]}", None)
        during.start()
        time.sleep(5)
        one = variant(settings, widen({CHANGED_ONE}, "BenchUnused1"))
        replace_one_s = timed_redeploy(one, backend, settings, only={CHANGED_ONE})
        time.sleep(5)
        four = variant(settings, widen({s.name for s in shipped.statements}, "BenchUnused4"))
        replace_four_s = timed_redeploy(four, backend, settings)
        time.sleep(5)
        during.stop.set()
        during.join()
        replaced = settle(arrivals, during, four)
        arrivals.stop.set()
        arrivals.join(10)
        failures = steady.failures + during.failures
    finally:
        stack.down()
        shutil.rmtree(state_dir, ignore_errors=True)
    return {
        "deploy_four_s": round(deploy_four_s, 1),
        "replace_one_s": round(replace_one_s, 1),
        "replace_four_s": round(replace_four_s, 1),
        "latency": latency,
        "during_replacements": replaced,
        "broker_baseline": baseline,
        "api_failures": failures[:10],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=50.0, help="events per second")
    args = parser.parse_args()
    figures = run(args)
    routes = figures["latency"]["routes"]
    worst_p99 = max(r["p99_ms"] for r in routes.values())
    p50s = [r["p50_ms"] for r in routes.values()]
    ratio = round(statistics.median(p50s) / max(figures["broker_baseline"]["p50_ms"], 0.1), 1)
    result = {
        "benchmark": "pipeline_latency",
        "path": "producer API -> PostgreSQL -> Debezium -> raw topic -> Flink -> filtered topic",
        "events": args.events,
        "rate_per_s": args.rate,
        **figures,
        "p50_ratio_pipeline_over_broker": ratio,
        "goal_p99_ms": GOAL_P99_MS,
        "goal_replace_one_s": GOAL_REPLACE_ONE_S,
        "goal_deploy_four_s": GOAL_DEPLOY_FOUR_S,
        "meets_p99": worst_p99 <= GOAL_P99_MS,
        "meets_replace_one": figures["replace_one_s"] <= GOAL_REPLACE_ONE_S,
        "meets_deploy_four": figures["deploy_four_s"] <= GOAL_DEPLOY_FOUR_S,
    }
    out = ROOT / "bench" / "results" / "pipeline_latency.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    base = figures["broker_baseline"]
    print(f"broker alone: p50 {base['p50_ms']} ms, p99 {base['p99_ms']} ms")
    raw = figures["latency"]["raw_topic"]
    print(f"API -> raw topic: p50 {raw['p50_ms']} ms, p99 {raw['p99_ms']} ms")
    for name, r in routes.items():
        print(
            f"API -> {name}: n {r['n']}, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms,"
            f" max {r['max_ms']} ms, lost {r['lost']}, duplicated {r['duplicated']}"
        )
    for name, r in figures["during_replacements"]["routes"].items():
        print(
            f"during replacements, {name}: n {r['n']}, lost {r['lost']},"
            f" duplicated {r['duplicated']}, max {r.get('max_ms')} ms"
        )
    mark = lambda ok: "met" if ok else "MISSED"  # noqa: E731
    print(
        f"deploy four {figures['deploy_four_s']} s ({mark(result['meets_deploy_four'])}),"
        f" replace one {figures['replace_one_s']} s ({mark(result['meets_replace_one'])}),"
        f" replace four {figures['replace_four_s']} s"
    )
    print(f"wrote {out.relative_to(ROOT)}")
    print(
        f"producer API -> filtered topic over {args.events} events at {args.rate:g}/s: worst"
        f" route p99 {worst_p99} ms (goal <= {GOAL_P99_MS:g} ms, {mark(result['meets_p99'])});"
        f" p50 {ratio}x the broker alone"
    )


if __name__ == "__main__":
    main()
