"""What the auto-stop policy saves, against the seeds' promise of 50-70 %.

Simulates four weeks of a test environment minute by minute with the real decision function
(cdc_ops.cluster.auto_stop.auto_stop_decision) run hourly, the auto-start on the first request to a
stopped cluster (10 minutes to become available, requests meanwhile answered 503), and the
uptime arithmetic of the cluster_uptime asset (cdc_ops.cluster.uptime). Usage patterns:
  workday   - requests every 10 minutes, 09:00-18:00, Monday to Friday
  bursty    - a 30-minute burst of requests at 10:00 and at 15:00 on weekdays
  always-on - requests around the clock (the baseline: nothing can be saved)
Also measured: the decision function's cost per call, against building its inputs alone.

    .venv/bin/python bench/auto_stop_savings.py
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cdc_ops.cluster.activity import Activity  # noqa: E402
from cdc_ops.cluster.auto_stop import Action, Policy, auto_stop_decision  # noqa: E402
from cdc_ops.cluster.state import ClusterState  # noqa: E402
from cdc_ops.cluster.uptime import uptime  # noqa: E402

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
DAYS = 28
MINUTE = timedelta(minutes=1)
POLICY = Policy("test", ("test",), timedelta(hours=3), "cdc-ops:auto-stop")
START_DELAY = timedelta(minutes=10)


def workday(t: datetime) -> bool:
    return t.weekday() < 5 and 9 <= t.hour < 18 and t.minute % 10 == 0


def bursty(t: datetime) -> bool:
    return t.weekday() < 5 and t.hour in (10, 15) and t.minute < 30


def always_on(t: datetime) -> bool:
    return t.minute % 10 == 0


def simulate(pattern: Callable[[datetime], bool]) -> dict[str, float]:
    status, available_at = "available", START
    requests: list[datetime] = []
    timeline = [(START, status)]
    refused = 0
    t = START
    while t < START + timedelta(days=DAYS):
        if status == "starting" and t >= available_at:
            status = "available"
            timeline.append((t, status))
        if pattern(t):
            requests.append(t)
            if status == "stopped":  # 503 and auto-start
                status, available_at = "starting", t + START_DELAY
                timeline.append((t, status))
            if status != "available":
                refused += 1
        if t.minute == 0:
            recent = [r for r in requests if r > t - POLICY.window]
            activity = Activity(t - POLICY.window, t, [(r, 1.0) for r in recent])
            decision = auto_stop_decision(t, ClusterState("sim", status), activity, POLICY)
            if decision.action is Action.STOP:
                status = "stopped"
                timeline.append((t, status))
        t += MINUTE
    u = uptime(timeline, START + timedelta(days=DAYS), timedelta(days=DAYS))
    return {
        "running_hours": round(u.running_h, 1),
        "stopped_hours": round(u.stopped_h, 1),
        "stopped_percent": round(100 * (u.stopped_share or 0), 1),
        "requests": len(requests),
        "requests_answered_503": refused,
        "auto_starts": sum(1 for _, s in timeline if s == "starting"),
    }


def decision_cost() -> tuple[float, float]:
    """Seconds per auto_stop_decision call, and per building its inputs (the baseline)."""
    now = START
    n = 20000
    began = time.perf_counter()
    for _ in range(n):
        activity = Activity(now - POLICY.window, now, [(now, 1.0)])
        cluster = ClusterState("c", "available")
    inputs = (time.perf_counter() - began) / n
    began = time.perf_counter()
    for _ in range(n):
        activity = Activity(now - POLICY.window, now, [(now, 1.0)])
        cluster = ClusterState("c", "available")
        auto_stop_decision(now, cluster, activity, POLICY)
    return (time.perf_counter() - began) / n, inputs


def main() -> None:
    results = {
        name: simulate(fn)
        for name, fn in (("workday", workday), ("bursty", bursty), ("always-on", always_on))
    }
    per_call, inputs = decision_cost()
    out = {
        "benchmark": "auto_stop_savings",
        "days": DAYS,
        "window_h": 3,
        "patterns": results,
        "decision_us": round(per_call * 1e6, 2),
        "inputs_us": round(inputs * 1e6, 2),
        "decision_over_inputs": round(per_call / inputs, 1),
    }
    path = ROOT / "bench" / "results" / "auto_stop_savings.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    for name, r in results.items():
        print(
            f"{name:10s} stopped {r['stopped_percent']:5.1f} % of {DAYS} days;"
            f" {r['auto_starts']} auto-starts, {r['requests_answered_503']} of"
            f" {r['requests']} requests answered 503"
        )
    print(
        f"decision: {out['decision_us']} us per call ({out['decision_over_inputs']}x building"
        f" its inputs)"
    )
    print(f"wrote {path.relative_to(ROOT)}")
    print(
        f"auto-stop saves {results['workday']['stopped_percent']} % (workday),"
        f" {results['bursty']['stopped_percent']} % (bursty),"
        f" {results['always-on']['stopped_percent']} % (always-on baseline)"
    )


if __name__ == "__main__":
    main()
