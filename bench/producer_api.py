"""Producer API throughput and latency, against plain psycopg doing the same inserts.

One OS process per client, as Lambda runs its containers (each its own interpreter, no GIL
shared), through one throw-away PostgreSQL + PgBouncer on free ports, in the same run:
  handler  - POST /api/v1/events through the PostgreSQL Lambda handler (validation, routing,
             idempotent insert of business_events + event_headers + 2 entities, logs, metrics):
             each process is one warm container, one ProducerApi with its own pool, one request
             at a time (so one connection of producer_api.pool_max_size is ever in use)
  baseline - the same three inserts in one transaction with plain psycopg, one connection per
             process
Fair by construction: the client-side work (building the event dict, json.dumps of the body) is
the same on both sides and inside the timed region on both sides; the handler side also builds
the API Gateway proxy event (proxy_event, ~11 us measured, under 1% of a request), which stands
for what API Gateway hands a Lambda. Both go through the same PgBouncer, whose pool is sized to
the highest concurrency so no client waits for a server connection. The processes live across
rounds, as warm containers do; each side first runs one untimed priming round (PgBouncer opens
its server connections then), and in every round each process makes one untimed warm-up request
before all of a side's processes start together on a barrier. Rounds alternate the order
(baseline first, then handler first, ...) so drift on this noisy machine hits both sides alike.
With 2 cores, 16 processes make both sides CPU bound: the absolute rate is this machine's, the
ratio handler/baseline is the figure. The handler's JSON logs and EMF metric lines go to its
processes' stdout, as in Lambda; here that is /dev/null (not counted).

Goals (issue 18): handler events/s >= 0.9x the baseline's at concurrency 1 and >= 0.85x at 16;
handler p99 <= 1.5x the baseline's (at both); cold import of the handler module <= 200 ms
(median of 7 fresh interpreters, against a bare `import json`; see cold_import for the bytecode
conditions, the goal is judged on the tree as it is).

    .venv/bin/python bench/producer_api.py [--events N] [--rounds R]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Heavy imports live in the functions that need them: every spawned process imports this module
# again, and a baseline process has no business importing the handler.

CONCURRENCIES = (1, 16)
SIDES = ("baseline", "handler")
GOALS = {
    "events_per_s_ratio_min": {"1": 0.90, "16": 0.85},
    "p99_ratio_max": 1.5,
    "cold_import_s_max": 0.200,
}
HEADERS = {"content-type": "application/json"}
PRIME_PER_CLIENT = 25
# a process that has not reached the barrier by then is stuck (or dead): give up, do not hang
BARRIER_TIMEOUT_S = 120.0


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


def handler_sender(settings: Any) -> Callable[[str], None]:
    """One warm container: a ProducerApi whose pool lives as long as the process."""
    from cdc_ops.producer.connections import postgres_database
    from cdc_ops.tools.api_server import proxy_event
    from lambdas.producer_api.app import ProducerApi, make_service

    api = ProducerApi(
        "producer-api-bench",
        lambda: make_service(settings, postgres_database, auto_start=False),
    )

    def send(uuid: str) -> None:
        body = json.dumps(event(uuid)).encode()
        result = api.handler(
            proxy_event("POST", "/api/v1/events", HEADERS, body, "127.0.0.1"), None
        )
        if result["statusCode"] != 201:
            raise RuntimeError(f"handler answered {result['statusCode']}: {result['body']}")

    return send


# what a plain psycopg client writes for an event: three inserts in one transaction
INSERT_EVENT = """
INSERT INTO business_events (id, event_name, event_type, created_date, saved_date, event_data)
VALUES (%s, %s, %s, %s, %s, %s)
"""
INSERT_HEADER = """
INSERT INTO event_headers (id, event_name, event_type, created_date, saved_date, header_data)
VALUES (%s, %s, %s, %s, %s, %s)
"""
INSERT_ENTITY = """
INSERT INTO entities (event_id, entity_type, entity_id, attributes) VALUES (%s, %s, %s, %s)
"""


def baseline_sender(settings: Any) -> Callable[[str], None]:
    """Plain psycopg on one connection: the three inserts in one transaction."""
    import psycopg
    from psycopg.types.json import Jsonb

    db = settings.database
    conn = psycopg.connect(
        host=db.proxy_host,
        port=db.proxy_port,
        dbname=db.name,
        user=db.user,
        password=db.password.get_secret_value(),
        prepare_threshold=None,
    )

    def send(uuid: str) -> None:
        doc = event(uuid)
        # the client serialises its body on the handler side too; the same work here
        json.dumps(doc).encode()
        h = doc["eventHeader"]
        dates = [datetime.fromtimestamp(h[k] / 1000, UTC) for k in ("createdDate", "savedDate")]
        flat = (h["eventName"], h["eventType"], *dates)
        with conn.transaction():
            conn.execute(INSERT_EVENT, (h["uuid"], *flat, Jsonb(doc)))
            conn.execute(INSERT_HEADER, (h["uuid"], *flat, Jsonb(h)))
            with conn.cursor() as cur:
                cur.executemany(
                    INSERT_ENTITY,
                    [
                        (h["uuid"], e["entityType"], e["entityId"], Jsonb(e["updatedAttributes"]))
                        for e in doc["eventBody"]["entities"]
                    ],
                )

    return send


def worker(side: str, pipe: Any, barrier: Any) -> None:
    """One process: set up, say ready, then per round: warm up, barrier, N timed requests."""
    # the handler's logs and metrics (stdout, as in Lambda) are not what is measured
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        from cdc_ops.settings import load_settings

        settings = load_settings()  # the scratch stack's, from the environment inherited
        send = (handler_sender if side == "handler" else baseline_sender)(settings)
        pipe.send(("ready", os.getpid()))
        while (job := pipe.recv()) is not None:
            tag, count = job
            send(f"{tag}-warm")
            barrier.wait(BARRIER_TIMEOUT_S)
            latencies = []
            began = time.monotonic()  # system-wide on Linux: comparable across processes
            for i in range(count):
                t = time.perf_counter()
                send(f"{tag}-{i}")
                latencies.append(time.perf_counter() - t)
            pipe.send(("done", began, time.monotonic(), latencies))
    except BaseException:
        barrier.abort()  # the others and the parent fail fast instead of waiting
        pipe.send(("error", traceback.format_exc()))


class Side:
    """The processes of one side at one concurrency, alive across rounds."""

    def __init__(self, ctx: Any, name: str, concurrency: int) -> None:
        self.name = name
        self.barrier = ctx.Barrier(concurrency + 1)
        self.pipes = []
        self.procs = []
        for _ in range(concurrency):
            parent_end, child_end = ctx.Pipe()
            proc = ctx.Process(target=worker, args=(name, child_end, self.barrier), daemon=True)
            proc.start()
            self.pipes.append(parent_end)
            self.procs.append(proc)

    def _recv(self, pipe: Any) -> tuple[Any, ...]:
        if not pipe.poll(BARRIER_TIMEOUT_S):
            raise RuntimeError(f"{self.name} process did not answer in {BARRIER_TIMEOUT_S:g}s")
        msg = pipe.recv()
        if msg[0] == "error":
            raise RuntimeError(f"{self.name} process failed:\n{msg[1]}")
        return msg

    def wait_ready(self) -> None:
        for pipe in self.pipes:
            self._recv(pipe)

    def run(self, tag: str, per_client: int) -> tuple[float, list[float]]:
        """(wall seconds from the first start to the last end, every latency in seconds)."""
        for c, pipe in enumerate(self.pipes):
            pipe.send((f"{tag}-{self.name[0]}{c}", per_client))
        try:
            self.barrier.wait(BARRIER_TIMEOUT_S)
        except Exception:
            for pipe in self.pipes:  # a process's own error says more than the broken barrier
                if pipe.poll(1.0):
                    self._recv(pipe)
            raise
        done = [self._recv(pipe) for pipe in self.pipes]
        wall = max(d[2] for d in done) - min(d[1] for d in done)
        return wall, [x for d in done for x in d[3]]

    def stop(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):  # it may have died already
                pipe.send(None)
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)


def import_seconds(module: str, env: dict[str, str] | None = None) -> float:
    """How long `import module` takes in a fresh interpreter (its startup not counted)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def zip_import_seconds(rounds: int = 7) -> float:
    """The import as Lambda does it: from the unpacked `cdc-ops lambda package` zip (its bytecode
    included), nothing of this venv on the path (-S), nothing written (-B)."""
    from cdc_ops.tools.packaging import build

    work = Path(tempfile.mkdtemp(prefix="cdc-ops-bench-zip-"))
    try:
        archive = build("producer_api_pg", work / "zip", progress=lambda _m: None)
        zipfile.ZipFile(archive).extractall(work / "task")
        code = (
            "import sys, time; sys.path[:0] = [sys.argv[1]]; t = time.perf_counter()\n"
            "import lambdas.producer_api_pg.handler\n"
            "print(time.perf_counter() - t)"
        )
        runs = []
        for _ in range(rounds):
            out = subprocess.run(
                [sys.executable, "-S", "-B", "-c", code, str(work / "task")],
                cwd=work,
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(float(out.stdout.strip()))
        return statistics.median(runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def cold_import(rounds: int = 7, uncached_rounds: int = 3) -> dict[str, Any]:
    """The handler module's import, median of fresh interpreters, in three bytecode conditions.

    as_now (the goal's): this tree as it is - here the project's modules have no __pycache__
    (PYTHONDONTWRITEBYTECODE=1 on this machine), so they are compiled on every import, while
    the libraries load the .pyc files pip wrote. all_cached: every module from bytecode (a
    private PYTHONPYCACHEPREFIX filled by one untimed import), what a zip that ships .pyc
    files would give. none_cached: every module compiled from source (an empty prefix each
    time), what a zip without .pyc files gives Lambda, whose code directory is read-only.
    """
    handler_module = "lambdas.producer_api_pg.handler"
    as_now, bare = [], []
    for _ in range(rounds):
        as_now.append(import_seconds(handler_module))
        bare.append(import_seconds("json"))
    prefix = tempfile.mkdtemp(prefix="cdc-ops-bench-pyc-")
    uncached = []
    try:
        cached_env = {**os.environ, "PYTHONPYCACHEPREFIX": prefix}
        cached_env.pop("PYTHONDONTWRITEBYTECODE", None)
        import_seconds(handler_module, cached_env)  # fills the prefix
        cached_env["PYTHONDONTWRITEBYTECODE"] = "1"
        all_cached = [import_seconds(handler_module, cached_env) for _ in range(rounds)]
        for _ in range(uncached_rounds):
            empty = tempfile.mkdtemp(prefix="cdc-ops-bench-pyc-")
            try:
                env = {**os.environ, "PYTHONPYCACHEPREFIX": empty, "PYTHONDONTWRITEBYTECODE": "1"}
                uncached.append(import_seconds(handler_module, env))
            finally:
                shutil.rmtree(empty, ignore_errors=True)
    finally:
        shutil.rmtree(prefix, ignore_errors=True)
    return {
        "from_lambda_zip_s": round(zip_import_seconds(rounds), 4),
        "as_now_s": round(statistics.median(as_now), 4),
        "bare_json_s": round(statistics.median(bare), 4),
        "all_cached_s": round(statistics.median(all_cached), 4),
        "none_cached_s": round(statistics.median(uncached), 4),
        "rounds": rounds,
        "none_cached_rounds": uncached_rounds,
        "project_bytecode_cached": (ROOT / "cdc_ops" / "__pycache__").is_dir(),
        "pythondontwritebytecode": os.environ.get("PYTHONDONTWRITEBYTECODE", ""),
    }


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(wall: float, latencies: list[float]) -> dict[str, float]:
    return {
        "events_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(pct(latencies, 0.50) * 1000, 3),
        "p99_ms": round(pct(latencies, 0.99) * 1000, 3),
    }


def connections_seen(stack: Any) -> dict[str, int]:
    """What PgBouncer holds while every process of both sides is alive and idle."""
    pgbouncer = stack.component("pgbouncer")
    dbname = stack.settings.database.name
    clients = [c for c in pgbouncer.show("CLIENTS") if c["database"] == dbname]
    pools = [p for p in pgbouncer.show("POOLS") if p["database"] == dbname]
    servers = sum(
        int(p.get(k) or 0) for p in pools for k in ("sv_active", "sv_idle", "sv_used", "sv_tested")
    )
    return {
        "handler_client_connections": sum(
            1 for c in clients if c.get("application_name") == "producer-api-pg"
        ),
        "all_client_connections": len(clients),
        "server_connections": servers,
    }


def measure(ctx: Any, stack: Any, concurrency: int, events: int, rounds: int) -> dict[str, Any]:
    per_client = max(1, events // rounds // concurrency)
    sides = {}
    try:
        for name in SIDES:
            sides[name] = Side(ctx, name, concurrency)
        for side in sides.values():  # every process set up before any is timed
            side.wait_ready()
        for name in SIDES:
            # untimed: PgBouncer opens its server connections (and their backends warm their
            # caches) here, not in whichever side happens to run first
            sides[name].run(f"c{concurrency}-prime", PRIME_PER_CLIENT)
        walls = {name: 0.0 for name in SIDES}
        latencies: dict[str, list[float]] = {name: [] for name in SIDES}
        per_round: dict[str, list[float]] = {name: [] for name in SIDES}
        for r in range(rounds):
            order = SIDES if r % 2 == 0 else SIDES[::-1]
            for name in order:
                wall, lat = sides[name].run(f"c{concurrency}-r{r}", per_client)
                walls[name] += wall
                latencies[name] += lat
                per_round[name].append(round(len(lat) / wall, 1))
        seen = connections_seen(stack)
    finally:
        for side in sides.values():
            side.stop()
    row: dict[str, Any] = {
        "processes_per_side": concurrency,
        "events_per_process_per_round": per_client,
    }
    for name in SIDES:
        row[name] = {
            **summary(walls[name], latencies[name]),
            "events": len(latencies[name]),
            "events_per_s_by_round": per_round[name],
        }
    h, b = row["handler"], row["baseline"]
    row["events_per_s_ratio"] = round(h["events_per_s"] / b["events_per_s"], 3)
    row["p99_ratio"] = round(h["p99_ms"] / b["p99_ms"], 3)
    row["pgbouncer_seen"] = seen
    # each container's pool opens connections as it needs them: one, if one request at a time
    row["handler_connections_per_process"] = seen["handler_client_connections"] / concurrency
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=16000, help="events per side per concurrency")
    parser.add_argument(
        "--rounds", type=int, default=8, help="alternating rounds the events are split into"
    )
    args = parser.parse_args()

    from cdc_ops.settings import load_settings
    from cdc_ops.tools.stack import Stack
    from cdc_ops.tools.stack.scratch import scratch_env, scratch_state_dir

    state_dir = scratch_state_dir("cdc-ops-bench-api-")
    os.environ.update(scratch_env(state_dir))
    # one server connection per client at the highest concurrency: neither side queues in
    # PgBouncer (its default of 5 would cap both at 5 transactions at a time)
    os.environ["CDC_OPS_LOCAL__PGBOUNCER_POOL_SIZE"] = str(max(CONCURRENCIES))
    settings = load_settings()  # the spawned processes inherit the same environment
    stack = Stack(settings)
    ctx = mp.get_context("spawn")
    load_before = os.getloadavg()
    results: dict[str, Any] = {
        "benchmark": "producer_api",
        "setup": {
            "process_per_client": True,
            "start_method": "spawn",
            "concurrencies": list(CONCURRENCIES),
            "events_per_side_per_concurrency": args.events,
            "rounds": args.rounds,
            "order": "rounds alternate: baseline then handler, handler then baseline, ...",
            "pgbouncer_pool_size": settings.local.pgbouncer_pool_size,
            "pgbouncer_pool_mode": "transaction",
            "producer_api_pool_max_size": settings.producer_api.pool_max_size,
            "cpus": os.cpu_count(),
        },
        "goals": GOALS,
    }
    began = time.monotonic()
    try:
        stack.up(["postgres", "pgbouncer"])
        for concurrency in CONCURRENCIES:
            results[f"concurrency_{concurrency}"] = measure(
                ctx, stack, concurrency, args.events, args.rounds
            )
    finally:
        stack.down()
        shutil.rmtree(state_dir, ignore_errors=True)
    imports = cold_import()
    handler_s, bare_s = imports["as_now_s"], imports["bare_json_s"]
    results["cold_import_s"] = handler_s
    results["cold_import_json_s"] = bare_s
    results["cold_import"] = imports
    results["load_average_before"] = [round(x, 2) for x in load_before]
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    results["seconds"] = round(time.monotonic() - began, 1)

    met = {}
    for concurrency in CONCURRENCIES:
        row = results[f"concurrency_{concurrency}"]
        need = GOALS["events_per_s_ratio_min"][str(concurrency)]
        met[f"events_per_s_ratio_c{concurrency}"] = row["events_per_s_ratio"] >= need
        met[f"p99_ratio_c{concurrency}"] = row["p99_ratio"] <= GOALS["p99_ratio_max"]
    met["cold_import"] = handler_s <= GOALS["cold_import_s_max"]
    results["goals_met"] = met
    results["all_goals_met"] = all(met.values())

    out = ROOT / "bench" / "results" / "producer_api.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    setup = results["setup"]
    print(
        f"one process per client (spawn), {args.rounds} alternating rounds,"
        f" {args.events} events per side per concurrency; PgBouncer pool"
        f" {setup['pgbouncer_pool_size']} ({setup['pgbouncer_pool_mode']}), handler pool max"
        f" {setup['producer_api_pool_max_size']}; {setup['cpus']} cpus,"
        f" load {results['load_average_before'][0]:.2f} -> {results['load_average_after'][0]:.2f}"
    )
    for concurrency in CONCURRENCIES:
        row = results[f"concurrency_{concurrency}"]
        for name in SIDES:
            r = row[name]
            by_round = " ".join(f"{x:.0f}" for x in r["events_per_s_by_round"])
            print(
                f"c={concurrency:<2} {name:8s} {r['events_per_s']:8.1f} events/s"
                f"  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  (rounds: {by_round})"
            )
        need = GOALS["events_per_s_ratio_min"][str(concurrency)]
        print(
            f"c={concurrency:<2} handler/baseline events/s {row['events_per_s_ratio']:.3f}"
            f" (goal >= {need}: {verdict(met[f'events_per_s_ratio_c{concurrency}'])}),"
            f" p99 {row['p99_ratio']:.3f}x (goal <= {GOALS['p99_ratio_max']}:"
            f" {verdict(met[f'p99_ratio_c{concurrency}'])});"
            f" PgBouncer saw {row['pgbouncer_seen']}"
        )
    print(
        f"cold import of the handler: {handler_s * 1000:.0f} ms (bare `import json`:"
        f" {bare_s * 1000:.1f} ms; goal <= {GOALS['cold_import_s_max'] * 1000:.0f} ms:"
        f" {verdict(met['cold_import'])}); every module from bytecode"
        f" {imports['all_cached_s'] * 1000:.0f} ms, none {imports['none_cached_s'] * 1000:.0f} ms;"
        f" from the Lambda zip (bytecode shipped) {imports['from_lambda_zip_s'] * 1000:.0f} ms"
    )
    print(f"wrote {out.relative_to(ROOT)} in {results['seconds']:.0f}s")
    c1, c16 = results["concurrency_1"], results["concurrency_16"]
    print(
        f"handler/baseline events/s: c=1 {c1['events_per_s_ratio']:.2f}"
        f" ({c1['handler']['events_per_s']:.0f}/{c1['baseline']['events_per_s']:.0f}),"
        f" c=16 {c16['events_per_s_ratio']:.2f}"
        f" ({c16['handler']['events_per_s']:.0f}/{c16['baseline']['events_per_s']:.0f});"
        f" p99 ratio c=1 {c1['p99_ratio']:.2f}, c=16 {c16['p99_ratio']:.2f};"
        f" cold import {handler_s * 1000:.0f} ms;"
        f" goals {'all met' if results['all_goals_met'] else 'not all met'}"
    )


if __name__ == "__main__":
    main()
