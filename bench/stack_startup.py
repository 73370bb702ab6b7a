"""Seconds to ready per local-stack component and in total, and the stack's peak memory.

Runs a throw-away stack on free ports in a temporary state directory, every component of
`cdc_ops.tools.stack.COMPONENTS` (PostgreSQL, PgBouncer, Kafka, moto, Kafka Connect, the Flink
JobManager and TaskManager, the SQL Gateway), three ways:
  cold     - first `up` (PostgreSQL's initdb, the broker's storage format, the connector created
             and its snapshot)
  restart  - `up` after `down`: PostgreSQL's data directory and the broker's log are kept (its
             topics, Connect's config/offset/status topics, committed offsets), so Connect resumes
             the connector from its stored offset; moto starts empty and the JobManager with no job
  again    - `up` while everything runs (the idempotent path: probes and provisioning only)
Memory is the proportional set size (PSS, so PostgreSQL's shared memory is not counted once per
backend) summed over each component's process tree, sampled every 50 ms.

Goals (the issue's): cold <= 90 s, idempotent `up` <= 2 s, peak <= 5 GB (5120 MiB).

Baseline, measured in the same run: the start of a bare Python interpreter of this venv. The
ratio cold_total / python_start says how the stack's start compares to this machine's speed.

    .venv/bin/python bench/stack_startup.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cdc_ops.settings import load_settings  # noqa: E402
from cdc_ops.tools.stack import COMPONENT_NAMES, Stack  # noqa: E402
from cdc_ops.tools.stack.scratch import scratch_env, scratch_state_dir  # noqa: E402

GOAL_COLD_S = 90.0
GOAL_AGAIN_S = 2.0
GOAL_PEAK_MIB = 5120.0


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(raw[raw.rindex(")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    return children


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pss_mib(root_pid: int, children: dict[int, list[int]]) -> float:
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += _pss_kib(pid)
        todo.extend(children.get(pid, []))
    return total / 1024


class MemorySampler(threading.Thread):
    def __init__(self, stack: Stack) -> None:
        super().__init__(daemon=True)
        self.stack = stack
        self.peak_total = 0.0
        self.peak_by_component: dict[str, float] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            children = _children_map()
            total = 0.0
            for component in self.stack.components:
                record = self.stack.record(component)
                if record is None:
                    continue
                mib = tree_pss_mib(record.pid, children)
                total += mib
                self.peak_by_component[component.name] = max(
                    mib, self.peak_by_component.get(component.name, 0.0)
                )
            self.peak_total = max(self.peak_total, total)
            self._halt.wait(0.05)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def python_start_seconds(rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def timed_up(stack: Stack, expected_action: str) -> tuple[dict[str, float], float]:
    began = time.perf_counter()
    results = stack.up()
    total = time.perf_counter() - began
    measured = [r.component for r in results]
    if measured != list(COMPONENT_NAMES):
        raise SystemExit(f"up measured {measured}, not every component {list(COMPONENT_NAMES)}")
    wrong = {r.component: r.action for r in results if r.action != expected_action}
    if wrong:
        raise SystemExit(f"expected every component {expected_action!r}, got {wrong}")
    return {r.component: round(r.seconds, 3) for r in results}, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="cold/restart/again rounds")
    args = parser.parse_args()

    baseline = python_start_seconds()
    runs = []
    peak_total, peak_by_component = 0.0, {}
    for _ in range(args.rounds):
        state_dir = scratch_state_dir("cdc-ops-bench-")
        os.environ.update(scratch_env(state_dir))
        stack = Stack(load_settings())
        sampler = MemorySampler(stack)
        sampler.start()
        try:
            cold, cold_total = timed_up(stack, "started")
            time.sleep(1.0)  # let the running stack settle for the memory figure
            stack.down()
            restart, restart_total = timed_up(stack, "started")
            again, again_total = timed_up(stack, "already running")
        finally:
            stack.down()
            sampler.stop()
            shutil.rmtree(state_dir, ignore_errors=True)
        peak_total = max(peak_total, sampler.peak_total)
        for name, mib in sampler.peak_by_component.items():
            peak_by_component[name] = max(mib, peak_by_component.get(name, 0.0))
        runs.append(
            {
                "cold": cold,
                "cold_total_s": round(cold_total, 3),
                "restart": restart,
                "restart_total_s": round(restart_total, 3),
                "again": again,
                "again_total_s": round(again_total, 3),
            }
        )

    def med(key: str, component: str | None = None) -> float:
        values = [r[key][component] if component else r[key] for r in runs]
        return round(statistics.median(values), 3)

    components = list(runs[0]["cold"])
    goals = {
        "cold_total_s": GOAL_COLD_S,
        "again_total_s": GOAL_AGAIN_S,
        "peak_pss_mib": GOAL_PEAK_MIB,
    }
    result = {
        "benchmark": "stack_startup",
        "rounds": args.rounds,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "components": components,
        "baseline_python_start_s": round(baseline, 4),
        "cold_s": {c: med("cold", c) for c in components},
        "cold_total_s": med("cold_total_s"),
        "restart_s": {c: med("restart", c) for c in components},
        "restart_total_s": med("restart_total_s"),
        "again_s": {c: med("again", c) for c in components},
        "again_total_s": med("again_total_s"),
        "cold_total_over_python_start": round(med("cold_total_s") / baseline, 1),
        "peak_pss_mib": round(peak_total, 1),
        "peak_pss_mib_by_component": {k: round(v, 1) for k, v in peak_by_component.items()},
        "goals": goals,
        "meets_goals": {},
        "runs": runs,
    }
    result["meets_goals"] = {k: result[k] <= goal for k, goal in goals.items()}
    out = ROOT / "bench" / "results" / "stack_startup.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")

    def verdict(key: str) -> str:
        return "met" if result["meets_goals"][key] else "MISSED"

    print(f"python start (baseline): {baseline:.3f}s")
    width = max(len(c) for c in components)
    for c in components:
        print(
            f"{c:{width}s} cold {result['cold_s'][c]:6.2f}s  restart {result['restart_s'][c]:6.2f}s"
            f"  again {result['again_s'][c]:5.2f}s"
            f"  peak {result['peak_pss_mib_by_component'].get(c, 0):7.1f} MiB PSS"
        )
    print(
        f"goals: cold <= {GOAL_COLD_S:g} s ({verdict('cold_total_s')}),"
        f" idempotent up <= {GOAL_AGAIN_S:g} s ({verdict('again_total_s')}),"
        f" peak <= {GOAL_PEAK_MIB:g} MiB ({verdict('peak_pss_mib')})"
    )
    print(f"wrote {out.relative_to(ROOT)}")
    print(
        f"stack ready ({len(components)} components, median of {args.rounds} round(s)):"
        f" cold {result['cold_total_s']:.2f}s (goal <= {GOAL_COLD_S:g} s;"
        f" {result['cold_total_over_python_start']}x a python start),"
        f" restart {result['restart_total_s']:.2f}s,"
        f" idempotent up {result['again_total_s']:.2f}s (goal <= {GOAL_AGAIN_S:g} s),"
        f" peak memory {result['peak_pss_mib']:.0f} MiB (goal <= {GOAL_PEAK_MIB:g} MiB)"
    )


if __name__ == "__main__":
    main()
