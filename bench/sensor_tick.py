"""CloudWatch calls and wall time per proxy-saturation tick, for 1, 10 and 100 proxies.

Against moto's CloudWatch (a throw-away moto server on a free port), with five metrics a proxy
and a datapoint for each. The sensor's reader batches every query into GetMetricData calls of
up to 500 queries (target: one call per 500 queries). Baseline, measured in the same run: the
naive reader that asks GetMetricData once per proxy and metric.

    .venv/bin/python bench/sensor_tick.py [--ticks N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cdc_ops.clients.aws import client  # noqa: E402
from cdc_ops.proxy.saturation import (  # noqa: E402
    MAX_QUERIES_PER_CALL,
    METRICS,
    CloudWatchProxyReader,
    metric_queries,
    saturation_alerts,
)
from cdc_ops.settings import load_settings  # noqa: E402
from cdc_ops.tools.stack import Stack  # noqa: E402
from cdc_ops.tools.stack.scratch import scratch_env, scratch_state_dir  # noqa: E402


class Counted:
    """Counts GetMetricData calls made through a boto3 client."""

    def __init__(self, cloudwatch: Any) -> None:
        self.calls = 0
        cloudwatch.meta.events.register("before-call.cloudwatch.GetMetricData", self._count)
        self.client = cloudwatch

    def _count(self, **_: Any) -> None:
        self.calls += 1


def seed(cloudwatch: Any, proxies: list[str], now: datetime) -> None:
    data = [
        {
            "MetricName": metric,
            "Dimensions": [{"Name": "ProxyName", "Value": p}],
            "Timestamp": now - timedelta(minutes=1),
            "Value": 1000.0 + i,
        }
        for i, p in enumerate(proxies)
        for metric in METRICS
    ]
    for first in range(0, len(data), 1000):
        cloudwatch.put_metric_data(Namespace="AWS/RDS", MetricData=data[first : first + 1000])


def naive_read(cloudwatch: Any, proxies: list[str], now: datetime) -> None:
    for query in metric_queries(proxies, 60):
        cloudwatch.get_metric_data(
            MetricDataQueries=[query], StartTime=now - timedelta(minutes=5), EndTime=now
        )


def measure(counted: Counted, tick, ticks: int) -> tuple[float, float]:
    """(calls per tick, median seconds per tick)"""
    before = counted.calls
    times = []
    for _ in range(ticks):
        began = time.perf_counter()
        tick()
        times.append(time.perf_counter() - began)
    return (counted.calls - before) / ticks, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=5)
    args = parser.parse_args()

    state_dir = scratch_state_dir("cdc-ops-bench-sensor-")
    os.environ.update(scratch_env(state_dir))
    settings = load_settings()
    stack = Stack(settings)
    rows = []
    try:
        stack.up(["moto"])
        counted = Counted(client("cloudwatch", settings))
        for n in (1, 10, 100):
            proxies = [f"bench-proxy-{n}-{i}" for i in range(n)]
            now = datetime.now(UTC)
            seed(counted.client, proxies, now)
            reader = CloudWatchProxyReader(counted.client, proxies, 60, 300)

            def tick(reader=reader) -> None:
                saturation_alerts(reader.read(datetime.now(UTC)), settings.thresholds)

            calls, seconds = measure(counted, tick, args.ticks)
            naive_calls, naive_seconds = measure(
                counted,
                lambda p=proxies: naive_read(counted.client, p, datetime.now(UTC)),
                max(1, args.ticks // 2),
            )
            queries = n * len(METRICS)
            rows.append(
                {
                    "proxies": n,
                    "metric_queries": queries,
                    "calls_per_tick": calls,
                    "target_calls": math.ceil(queries / MAX_QUERIES_PER_CALL),
                    "seconds_per_tick": round(seconds, 4),
                    "naive_calls_per_tick": naive_calls,
                    "naive_seconds_per_tick": round(naive_seconds, 4),
                    "speedup_over_naive": round(naive_seconds / seconds, 1),
                }
            )
    finally:
        stack.down()
        shutil.rmtree(state_dir, ignore_errors=True)

    out = ROOT / "bench" / "results" / "sensor_tick.json"
    out.write_text(
        json.dumps({"benchmark": "sensor_tick", "ticks": args.ticks, "rows": rows}, indent=2) + "\n"
    )
    for r in rows:
        print(
            f"{r['proxies']:>3} proxies, {r['metric_queries']:>3} queries: "
            f"{r['calls_per_tick']:g} call(s)/tick (target {r['target_calls']}),"
            f" {1000 * r['seconds_per_tick']:.1f} ms/tick; naive {r['naive_calls_per_tick']:g}"
            f" calls, {1000 * r['naive_seconds_per_tick']:.0f} ms"
        )
    print(f"wrote {out.relative_to(ROOT)}")
    last = rows[-1]
    print(
        f"100 proxies: {last['calls_per_tick']:g} GetMetricData call per tick for"
        f" {last['metric_queries']} queries, {1000 * last['seconds_per_tick']:.0f} ms/tick,"
        f" {last['speedup_over_naive']}x faster than one call per query"
    )


if __name__ == "__main__":
    main()
