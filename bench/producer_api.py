"""Producer API throughput and latency, against plain psycopg doing the same inserts.

A throw-away PostgreSQL + PgBouncer (pool size 5) on free ports. For concurrency 1 and 16:
  handler  - POST /api/v1/events through the PostgreSQL Lambda handler (validation, routing,
             idempotent insert of business_events + event_headers + 2 entities, logs, metrics),
             one warm container per concurrent client, as Lambda would run them
  baseline - the same three inserts in one transaction with plain psycopg, one connection per
             client, measured in the same run
Reports events/s, p50/p99 latency, the ratio handler/baseline, and the handler module's cold
import time in a fresh interpreter (target: under 300 ms).

    .venv/bin/python bench/producer_api.py [--events N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

from cdc_ops.producer.connections import postgres_database  # noqa: E402
from cdc_ops.producer.repository import INSERT_ENTITY, INSERT_HEADER  # noqa: E402
from cdc_ops.settings import Settings, load_settings  # noqa: E402
from cdc_ops.tools.api_server import LambdaContainers, proxy_event  # noqa: E402
from cdc_ops.tools.stack import Stack  # noqa: E402
from cdc_ops.tools.stack.scratch import scratch_env, scratch_state_dir  # noqa: E402
from lambdas.producer_api.app import ProducerApi, make_service  # noqa: E402

IMPORT_TARGET_S = 0.300
HEADERS = {"content-type": "application/json"}


def event(uuid: str) -> dict[str, Any]:
    return {
        "eventHeader": {
            "uuid": uuid,
            "eventName": "LoanCreated",
            "eventType": "LoanCreated",
            "createdDate": 1705312200000,
            "savedDate": 1705312205000,
        },
        "eventBody": {
            "entities": [
                {
                    "entityType": "Loan",
                    "entityId": f"{uuid}-loan",
                    "updatedAttributes": {"loan": {"loanAmount": 50000, "status": "active"}},
                },
                {
                    "entityType": "Customer",
                    "entityId": f"{uuid}-cust",
                    "updatedAttributes": {"name": "A. Borrower"},
                },
            ]
        },
    }


def run_clients(concurrency: int, per_client: int, work) -> tuple[float, list[float]]:
    """work(client, i) per request; returns (wall seconds, latencies in seconds)."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    barrier = threading.Barrier(concurrency + 1)

    def client(c: int) -> None:
        barrier.wait()
        for i in range(per_client):
            began = time.perf_counter()
            work(c, i)
            latencies[c].append(time.perf_counter() - began)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(concurrency)]
    for t in threads:
        t.start()
    barrier.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - began, [x for lat in latencies for x in lat]


def handler_run(settings: Settings, concurrency: int, per_client: int, tag: str):
    containers = LambdaContainers(
        lambda: ProducerApi(
            "producer-api-bench",
            lambda: make_service(settings, postgres_database, auto_start=False),
        ),
        concurrency,
    )

    def work(c: int, i: int) -> None:
        body = json.dumps(event(f"{tag}-h-{c}-{i}")).encode()
        result = containers(proxy_event("POST", "/api/v1/events", HEADERS, body, "127.0.0.1"), None)
        if result["statusCode"] != 201:
            raise RuntimeError(f"handler answered {result['statusCode']}: {result['body']}")

    warm = json.dumps(event(f"{tag}-warm")).encode()
    containers(proxy_event("POST", "/api/v1/events", HEADERS, warm, "127.0.0.1"), None)
    return run_clients(concurrency, per_client, work)


def baseline_run(settings: Settings, concurrency: int, per_client: int, tag: str):
    db = settings.database
    conns = [
        psycopg.connect(
            host=db.proxy_host,
            port=db.proxy_port,
            dbname=db.name,
            user=db.user,
            password=db.password.get_secret_value(),
            prepare_threshold=None,
        )
        for _ in range(concurrency)
    ]
    insert_event = (
        "INSERT INTO business_events (id, event_name, event_type, created_date, saved_date,"
        " event_data) VALUES (%s, %s, %s, %s, %s, %s)"
    )

    def work(c: int, i: int) -> None:
        doc = event(f"{tag}-b-{c}-{i}")
        h = doc["eventHeader"]
        dates = [datetime.fromtimestamp(h[k] / 1000, UTC) for k in ("createdDate", "savedDate")]
        flat = (h["eventName"], h["eventType"], *dates)
        conn = conns[c]
        with conn.transaction():
            conn.execute(insert_event, (h["uuid"], *flat, Jsonb(doc)))
            conn.execute(INSERT_HEADER, (h["uuid"], *flat, Jsonb(h)))
            with conn.cursor() as cur:
                cur.executemany(
                    INSERT_ENTITY,
                    [
                        (h["uuid"], e["entityType"], e["entityId"], Jsonb(e["updatedAttributes"]))
                        for e in doc["eventBody"]["entities"]
                    ],
                )

    try:
        return run_clients(concurrency, per_client, work)
    finally:
        for conn in conns:
            conn.close()


def cold_import_seconds(rounds: int = 7) -> tuple[float, float]:
    code = "import time; t = time.perf_counter(); import {m}; print(time.perf_counter() - t)"
    handler, bare = [], []
    for _ in range(rounds):
        for module, sink in (("lambdas.producer_api_pg.handler", handler), ("json", bare)):
            out = subprocess.run(
                [sys.executable, "-c", code.format(m=module)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            sink.append(float(out.stdout.strip()))
    return statistics.median(handler), statistics.median(bare)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="events per measurement")
    args = parser.parse_args()

    state_dir = scratch_state_dir("cdc-ops-bench-api-")
    os.environ.update(scratch_env(state_dir))
    settings = load_settings()
    stack = Stack(settings)
    results: dict[str, Any] = {
        "benchmark": "producer_api",
        "events": args.events,
        "pgbouncer_pool_size": settings.local.pgbouncer_pool_size,
    }
    try:
        stack.up(["postgres", "pgbouncer"])
        for concurrency in (1, 16):
            per_client = max(1, args.events // concurrency)
            row: dict[str, Any] = {}
            for name, run in (("baseline", baseline_run), ("handler", handler_run)):
                # the handler's JSON logs and EMF metrics go to stdout, as in Lambda; not here
                with contextlib.redirect_stdout(io.StringIO()):
                    wall, lat = run(settings, concurrency, per_client, f"c{concurrency}")
                row[name] = {
                    "events_per_s": round(len(lat) / wall, 1),
                    "p50_ms": round(pct(lat, 0.50) * 1000, 2),
                    "p99_ms": round(pct(lat, 0.99) * 1000, 2),
                }
            row["handler_over_baseline"] = round(
                row["handler"]["events_per_s"] / row["baseline"]["events_per_s"], 3
            )
            results[f"concurrency_{concurrency}"] = row
        handler_s, bare_s = cold_import_seconds()
        results["cold_import_s"] = round(handler_s, 4)
        results["cold_import_json_s"] = round(bare_s, 4)
        results["cold_import_under_target"] = handler_s < IMPORT_TARGET_S
    finally:
        stack.down()
        shutil.rmtree(state_dir, ignore_errors=True)

    out = ROOT / "bench" / "results" / "producer_api.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    for concurrency in (1, 16):
        row = results[f"concurrency_{concurrency}"]
        for name in ("baseline", "handler"):
            r = row[name]
            print(
                f"c={concurrency:<2} {name:8s} {r['events_per_s']:8.1f} events/s"
                f"  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms"
            )
    print(
        f"cold import of the handler: {results['cold_import_s'] * 1000:.0f} ms"
        f" (bare `import json`: {results['cold_import_json_s'] * 1000:.1f} ms)"
    )
    print(f"wrote {out.relative_to(ROOT)}")
    c1, c16 = results["concurrency_1"], results["concurrency_16"]
    print(
        f"handler/baseline events/s: c=1 {c1['handler_over_baseline']:.2f}"
        f" ({c1['handler']['events_per_s']:.0f}/s), c=16 {c16['handler_over_baseline']:.2f}"
        f" ({c16['handler']['events_per_s']:.0f}/s);"
        f" cold import {results['cold_import_s'] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
