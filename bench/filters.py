"""Filter compile time (1,000 filters) and the local Flink job's routing throughput.

Compile: a generated filters file of 1,000 filters using every operator, compiled for each
target; baseline in the same run: validating (parsing) the same file.
Routing: a throw-away Kafka broker, --events JSON records in raw-business-events (half of them
LoanCreated/c), one PyFlink statement (the shipped loan_created filter) started on them; the
figure is input events per second until every match is in the output topic (the job's start
excluded). Baseline in the same run: the Python evaluator of the same filter on the same records.

    .venv/bin/python bench/filters.py [--events 50000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

from cdc_ops.filters.compiler import Target, compile_filters  # noqa: E402
from cdc_ops.filters.evaluate import matches  # noqa: E402
from cdc_ops.filters.files import FILTERS_FILE  # noqa: E402
from cdc_ops.filters.model import load_filters, parse_filters  # noqa: E402
from cdc_ops.kafka.topics import TopicAdmin, TopicSpec, client_config  # noqa: E402
from cdc_ops.settings import load_settings  # noqa: E402
from cdc_ops.tools.stack import Stack  # noqa: E402
from cdc_ops.tools.stack.flink_statements import LocalFlinkStatements  # noqa: E402
from cdc_ops.tools.stack.scratch import scratch_env, scratch_state_dir  # noqa: E402

CONDITIONS = [
    {"field": "event_type", "operator": "equals", "value": "LoanCreated"},
    {"field": "event_name", "operator": "in", "value": ["A", "B", "C"]},
    {"field": "event_name", "operator": "notIn", "value": ["X"]},
    {
        "field": "event_data.eventBody.entities[0].updatedAttributes.loan.loanAmount",
        "operator": "between",
        "value": [100, 5000],
    },
    {"field": "event_data.eventHeader.eventName", "operator": "matches", "value": "^Loan.*$"},
    {"field": "saved_date", "operator": "isNotNull"},
    {"field": "created_date", "operator": "greaterThan", "value": 0},
]


def thousand_filters() -> str:
    filters = [
        {
            "name": f"f{i:04d}",
            "outputTopic": f"filtered-{i:04d}",
            "match": "all" if i % 2 else "any",
            "conditions": [CONDITIONS[i % 7], CONDITIONS[(i + 3) % 7]],
        }
        for i in range(1000)
    ]
    return yaml.safe_dump({"version": 1, "filters": filters})


def timed(fn, rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def compile_figures() -> dict[str, float]:
    text = thousand_filters()
    parsed = parse_filters(text)
    out = {"parse_1000_s": round(timed(lambda: parse_filters(text)), 4)}
    for target in Target:
        out[f"compile_1000_{target.value}_s"] = round(
            timed(lambda t=target: compile_filters(parsed, t, bootstrap="b:9092")), 4
        )
    return out


def records(n: int, tag: str) -> list[dict]:
    kinds = ["LoanCreated", "CarCreated"]
    return [
        {
            "id": f"{tag}-{i}",
            "event_name": kinds[i % 2],
            "event_type": kinds[i % 2],
            "created_date": "2026-01-01T00:00:00Z",
            "saved_date": "2026-01-01T00:00:00Z",
            "event_data": "{}",
            "__op": "c",
            "__table": "business_events",
            "__ts_ms": i,
        }
        for i in range(n)
    ]


def routing_figures(n: int) -> dict[str, float]:
    state_dir = scratch_state_dir("cdc-ops-bench-filters-")
    os.environ.update(scratch_env(state_dir))
    settings = load_settings()
    stack = Stack(settings)
    flink = LocalFlinkStatements(settings)
    tag = uuid.uuid4().hex[:6]
    rows = records(n, tag)
    loan = next(f for f in load_filters(FILTERS_FILE).filters if f.name == "loan_created")
    began = time.perf_counter()
    expected = sum(matches(loan, r) for r in rows)
    python_s = time.perf_counter() - began
    try:
        stack.up(["kafka"])
        producer = Producer({**client_config(settings), "linger.ms": 20})
        for r in rows:
            producer.produce(settings.names.raw_topic, value=json.dumps(r).encode())
            producer.poll(0)
        producer.flush(60)
        del producer  # its background thread would outlive the broker
        bootstrap = settings.kafka.bootstrap_servers or ""
        compiled = compile_filters(
            load_filters(FILTERS_FILE), Target.APACHE_FLINK, settings.names.raw_topic, bootstrap
        )
        statement = next(s for s in compiled.statements if s.filter.name == "loan_created")
        TopicAdmin(settings).ensure([TopicSpec(loan.output_topic, 3)])
        start_began = time.perf_counter()
        flink.deploy(statement.name, [compiled.source_ddl, statement.sink_ddl], statement.insert)
        started = time.perf_counter()
        consumer = Consumer(
            {**client_config(settings), "group.id": tag, "enable.auto.commit": False}
        )
        consumer.assign([TopicPartition(loan.output_topic, p, 0) for p in range(3)])
        seen = 0
        deadline = time.monotonic() + 600
        while seen < expected and time.monotonic() < deadline:
            for message in consumer.consume(1000, timeout=0.5):
                if not message.error() and message.value() and tag.encode() in message.value():
                    seen += 1
        routed_s = time.perf_counter() - started
        consumer.close()
    finally:
        flink.stop_all()
        stack.down()
        shutil.rmtree(state_dir, ignore_errors=True)
    return {
        "events": n,
        "matching": expected,
        "routed": seen,
        "job_start_s": round(started - start_began, 1),
        "flink_events_per_s": round(n / routed_s, 0),
        "python_events_per_s": round(n / python_s, 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()
    compile_ = compile_figures()
    routing = routing_figures(args.events)
    result = {"benchmark": "filters", "compile": compile_, "routing": routing}
    out = ROOT / "bench" / "results" / "filters.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    for key, value in compile_.items():
        print(f"{key}: {1000 * value:.1f} ms")
    print(f"flink job start (validate + JVM + job): {routing['job_start_s']} s")
    print(f"python evaluator: {routing['python_events_per_s']:.0f} events/s")
    print(f"wrote {out.relative_to(ROOT)}")
    delivered = f"{routing['routed']}/{routing['matching']}"
    compile_ms = 1000 * compile_["compile_1000_apache-flink_s"]
    print(
        f"compile 1,000 filters: {compile_ms:.0f} ms"
        f" (parse {1000 * compile_['parse_1000_s']:.0f} ms); local Flink routing:"
        f" {routing['flink_events_per_s']:.0f} events/s, {delivered} delivered"
    )


if __name__ == "__main__":
    main()
