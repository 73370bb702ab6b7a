"""Filter compile time (1,000 filters), and the local Flink's deploy time and routing rate.

Compile: a generated filters file of 1,000 filters using every operator, compiled for each
target; baseline in the same run: validating (parsing) the same file.
Deploy: a throw-away Kafka broker and Flink session cluster (JobManager, TaskManager, SQL
Gateway) whose Flink runs no statement yet; the figure is the seconds `redeploy` takes to bring
the four shipped filter statements (flink_sql/filters.yaml) to RUNNING through the SQL Gateway
(validate, submit, wait for every task), output topics included. Goal (the issue's): <= 30 s;
it was ~70 s with a PyFlink JVM per statement.
Routing: with the four statements running, --events JSON records (a quarter for each filter)
are produced into raw-business-events; the figure is input events per second from the first
record sent until every match is in its output topic (the jobs' start excluded). Baseline in the
same run: the Python evaluator of the same four filters on the same records.

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
from confluent_kafka import Consumer, Producer  # noqa: E402

from cdc_ops.adapters import Adapters  # noqa: E402
from cdc_ops.filters.compiler import Target, compile_filters  # noqa: E402
from cdc_ops.filters.evaluate import matches  # noqa: E402
from cdc_ops.filters.files import compile_for  # noqa: E402
from cdc_ops.filters.model import parse_filters  # noqa: E402
from cdc_ops.flink.deploy import redeploy  # noqa: E402
from cdc_ops.flink.statements import RUNNING  # noqa: E402
from cdc_ops.kafka.topics import TopicAdmin, client_config  # noqa: E402
from cdc_ops.settings import load_settings  # noqa: E402
from cdc_ops.tools.stack import Stack  # noqa: E402
from cdc_ops.tools.stack.scratch import scratch_env, scratch_state_dir  # noqa: E402

FLINK = ["kafka", "flink", "flink-taskmanager", "sql-gateway"]
GOAL_DEPLOY_S = 30.0
PYFLINK_DEPLOY_S = 70.0  # four statements, a PyFlink JVM each (the stack before the gateway)

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
    # one kind per shipped filter: loan_created, loan_payment_submitted, service_events (on
    # event_name) and car_created
    kinds = ["LoanCreated", "LoanPaymentSubmitted", "CarServiceDone", "CarCreated"]
    return [
        {
            "id": f"{tag}-{i}",
            "event_name": kinds[i % 4],
            "event_type": kinds[i % 4],
            "created_date": "2026-01-01T00:00:00Z",
            "saved_date": "2026-01-01T00:00:00Z",
            "event_data": "{}",
            "__op": "c",
            "__table": "business_events",
            "__ts_ms": i,
        }
        for i in range(n)
    ]


def routing_figures(n: int) -> dict:
    state_dir = scratch_state_dir("cdc-ops-bench-filters-")
    os.environ.update(scratch_env(state_dir))
    settings = load_settings()
    stack = Stack(settings)
    tag = uuid.uuid4().hex[:6]
    rows = records(n, tag)
    compiled = compile_for(settings)
    shipped = [s.filter for s in compiled.statements]
    began = time.perf_counter()
    expected = {f.output_topic: sum(matches(f, r) for r in rows) for f in shipped}
    python_s = time.perf_counter() - began
    try:
        stack.up(FLINK)
        backend = Adapters(settings).statement_backend
        already = backend.names()
        if already:
            raise SystemExit(f"the fresh stack's Flink already runs {already}")
        # figure 1: a fresh deploy of the shipped statements through the SQL Gateway
        deploy_began = time.perf_counter()
        report = redeploy(compiled, backend, TopicAdmin(settings), 3)
        deploy_s = time.perf_counter() - deploy_began
        if not report.ok or set(report.deployed.values()) != {RUNNING}:
            raise SystemExit(f"deploy failed: {report.failed or report.deployed}")

        consumer = Consumer(
            {
                **client_config(settings),
                "group.id": tag,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        consumer.subscribe(list(expected))
        # figure 2: the records through the running statements
        producer = Producer({**client_config(settings), "linger.ms": 20})
        started = time.perf_counter()
        for r in rows:
            producer.produce(settings.names.raw_topic, value=json.dumps(r).encode())
            producer.poll(0)
        producer.flush(60)
        produced_s = time.perf_counter() - started
        del producer  # its background thread would outlive the broker
        seen = dict.fromkeys(expected, 0)
        deadline = time.monotonic() + 600
        while any(seen[t] < expected[t] for t in expected) and time.monotonic() < deadline:
            for message in consumer.consume(1000, timeout=0.5):
                if not message.error() and message.value() and tag.encode() in message.value():
                    seen[message.topic()] += 1
        routed_s = time.perf_counter() - started
        consumer.close()
    finally:
        stack.down()
        shutil.rmtree(state_dir, ignore_errors=True)
    return {
        "events": n,
        "statements": len(compiled.statements),
        "deploy_s": round(deploy_s, 1),
        "deployed": report.deployed,
        "matching": sum(expected.values()),
        "routed": sum(min(seen[t], expected[t]) for t in expected),
        "by_topic": {t: {"matching": expected[t], "routed": seen[t]} for t in expected},
        "produce_s": round(produced_s, 2),
        "routed_s": round(routed_s, 2),
        "flink_events_per_s": round(n / routed_s, 0),
        "python_events_per_s": round(n / python_s, 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()
    compile_ = compile_figures()
    routing = routing_figures(args.events)
    result = {
        "benchmark": "filters",
        "compile": compile_,
        "routing": routing,
        "goal_deploy_s": GOAL_DEPLOY_S,
        "meets_goal": routing["deploy_s"] <= GOAL_DEPLOY_S,
        "pyflink_deploy_s": PYFLINK_DEPLOY_S,
    }
    out = ROOT / "bench" / "results" / "filters.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    for key, value in compile_.items():
        print(f"{key}: {1000 * value:.1f} ms")
    verdict = "met" if result["meets_goal"] else "MISSED"
    print(
        f"deploy of {routing['statements']} statements through the SQL Gateway:"
        f" {routing['deploy_s']} s (goal <= {GOAL_DEPLOY_S:g} s: {verdict};"
        f" PyFlink per statement: ~{PYFLINK_DEPLOY_S:g} s)"
    )
    for topic, counts in routing["by_topic"].items():
        print(f"  {topic}: {counts['routed']}/{counts['matching']}")
    print(f"python evaluator: {routing['python_events_per_s']:.0f} events/s")
    print(f"wrote {out.relative_to(ROOT)}")
    delivered = f"{routing['routed']}/{routing['matching']}"
    compile_ms = 1000 * compile_["compile_1000_apache-flink_s"]
    print(
        f"compile 1,000 filters: {compile_ms:.0f} ms"
        f" (parse {1000 * compile_['parse_1000_s']:.0f} ms); deploy {routing['statements']}"
        f" statements via the SQL Gateway: {routing['deploy_s']} s (goal <= {GOAL_DEPLOY_S:g} s);"
        f" local Flink routing: {routing['flink_events_per_s']:.0f} events/s through all"
        f" {routing['statements']} ({delivered} delivered;"
        f" python evaluator {routing['python_events_per_s']:.0f}/s)"
    )


if __name__ == "__main__":
    main()
