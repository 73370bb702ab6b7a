"""Where a warm producer API request spends its time: a pyinstrument profile of POST /api/v1/events.

A throw-away PostgreSQL + PgBouncer on free ports; one warm container (the PostgreSQL handler,
auto-start off) posts N events one after another under pyinstrument's sampling profiler. Prints
the functions with the most self time, the time per request by part (validation, routing,
logging, metrics, the deadline watchdog, JSONB encoding, the database round trips), and writes
bench/results/producer_api_profile.json. The figure printed last is the time per request.

    .venv/bin/python bench/producer_api_profile.py [--events N] [--interval-ms MS]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pyinstrument import Profiler  # noqa: E402

from bench.producer_api import HEADERS, event  # noqa: E402 - the benchmark's event, the same
from cdc_ops.producer.connections import postgres_database  # noqa: E402
from cdc_ops.settings import load_settings  # noqa: E402
from cdc_ops.tools.api_server import proxy_event  # noqa: E402
from cdc_ops.tools.stack import Stack  # noqa: E402
from cdc_ops.tools.stack.scratch import scratch_env, scratch_state_dir  # noqa: E402
from lambdas.producer_api.app import ProducerApi, make_service  # noqa: E402

# A sample is charged to the first part whose pattern its innermost frames (leaf first) match.
PARTS = (
    ("database round trips", ("psycopg/waiting.py", "connection.py:wait", "wait_c")),
    ("JSONB encoding", ("psycopg/types/json.py",)),
    ("deadline watchdog", ("threading.py", "connections.py:deadline", "connections.py:_arm")),
    ("connection pool", ("psycopg_pool/",)),
    ("psycopg (queries, adaptation)", ("psycopg/", "psycopg_binary")),
    ("validation (pydantic)", ("pydantic", "event_handler/middlewares/openapi_validation")),
    ("logging", ("aws_lambda_powertools/logging", "logging/__init__")),
    ("metrics", ("aws_lambda_powertools/metrics",)),
    ("routing (Powertools)", ("aws_lambda_powertools/event_handler", "aws_lambda_powertools/")),
    ("JSON parse/dump", ("json/",)),
    ("the app's own code", ("lambdas/producer_api", "cdc_ops/producer")),
)


def _walk(frame, stack: tuple[str, ...], self_times: dict, parts: dict) -> None:
    # pyinstrument's synthetic "[self]" leaves are their parent's own time
    synthetic = frame.is_synthetic or not frame.file_path_short
    where = stack[-1] if synthetic and stack else f"{frame.file_path_short}:{frame.function}"
    here = stack if synthetic and stack else (*stack, where)
    own = frame.total_self_time
    if own:
        self_times[where] += own
        parts[_part(here)] += own
    for child in frame.children:
        _walk(child, here, self_times, parts)


def _part(stack: tuple[str, ...]) -> str:
    for where in reversed(stack):
        for name, patterns in PARTS:
            if any(p in where for p in patterns):
                return name
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=6000)
    parser.add_argument("--interval-ms", type=float, default=0.5, help="sampling interval")
    args = parser.parse_args()

    state_dir = scratch_state_dir("cdc-ops-bench-profile-")
    os.environ.update(scratch_env(state_dir))
    settings = load_settings()
    stack = Stack(settings)
    try:
        stack.up(["postgres", "pgbouncer"])
        api = ProducerApi(
            "producer-api-profile",
            lambda: make_service(settings, postgres_database, auto_start=False),
            # the handler's log lines are formatted and written, as in Lambda, but not shown
            log_stream=open(os.devnull, "w"),  # noqa: SIM115 - lives as long as the process
        )
        bodies = [json.dumps(event(f"p-{i}")).encode() for i in range(args.events + 50)]
        events = [proxy_event("POST", "/api/v1/events", HEADERS, b, "127.0.0.1") for b in bodies]
        with contextlib.redirect_stdout(io.StringIO()):
            for e in events[:50]:  # warm: the pool, the imports, the caches
                api.handler(e, None)
            profiler = Profiler(interval=args.interval_ms / 1000)
            began = time.perf_counter()
            profiler.start()
            for e in events[50:]:
                result = api.handler(e, None)
                if result["statusCode"] != 201:
                    raise RuntimeError(f"handler answered {result['statusCode']}")
            profiler.stop()
            wall = time.perf_counter() - began
    finally:
        stack.down()
        shutil.rmtree(state_dir, ignore_errors=True)

    self_times: dict[str, float] = defaultdict(float)
    parts: dict[str, float] = defaultdict(float)
    _walk(profiler.last_session.root_frame(), (), self_times, parts)
    sampled = sum(parts.values())
    per_request_us = wall / args.events * 1e6

    def share(seconds: float) -> float:
        return seconds / sampled * per_request_us

    top = sorted(self_times.items(), key=lambda kv: -kv[1])[:20]
    results = {
        "benchmark": "producer_api_profile",
        "events": args.events,
        "per_request_us": round(per_request_us, 1),
        "parts_us": {
            k: round(share(v), 1) for k, v in sorted(parts.items(), key=lambda kv: -kv[1])
        },
        "top_self_time_us": {k: round(share(v), 1) for k, v in top},
    }
    out = ROOT / "bench" / "results" / "producer_api_profile.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print("self time per request, by function:")
    for where, us in results["top_self_time_us"].items():
        print(f"  {us:7.1f} us  {where}")
    print("by part:")
    for name, us in results["parts_us"].items():
        print(f"  {us:7.1f} us  {name}")
    print(f"wrote {out.relative_to(ROOT)}")
    print(f"warm POST /api/v1/events: {per_request_us:.0f} us per request ({args.events} events)")


if __name__ == "__main__":
    main()
