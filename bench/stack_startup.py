"""Seconds to ready per local-stack component and in total, and the stack's peak memory.

Runs a throw-away stack on free ports in a temporary state directory, three ways:
  cold     - first `up` (PostgreSQL includes initdb)
  restart  - `up` after `down` (data directory kept, the broker and moto start empty)
  again    - `up` while everything runs (the idempotent path: probes and provisioning only)
Memory is the proportional set size (PSS, so PostgreSQL's shared memory is not counted once per
backend) summed over each component's process tree, sampled every 50 ms.

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
from cdc_ops.tools.stack import Stack  # noqa: E402
from cdc_ops.tools.stack.scratch import scratch_env, scratch_state_dir  # noqa: E402


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


def timed_up(stack: Stack) -> tuple[dict[str, float], float]:
    began = time.perf_counter()
    results = stack.up()
    return {r.component: round(r.seconds, 3) for r in results}, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="cold/restart/again rounds")
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
            cold, cold_total = timed_up(stack)
            time.sleep(1.0)  # let the running stack settle for the memory figure
            stack.down()
            restart, restart_total = timed_up(stack)
            again, again_total = timed_up(stack)
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
    result = {
        "benchmark": "stack_startup",
        "rounds": args.rounds,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "baseline_python_start_s": round(baseline, 4),
        "cold_s": {c: med("cold", c) for c in components},
        "cold_total_s": med("cold_total_s"),
        "restart_s": {c: med("restart", c) for c in components},
        "restart_total_s": med("restart_total_s"),
        "again_total_s": med("again_total_s"),
        "cold_total_over_python_start": round(med("cold_total_s") / baseline, 1),
        "peak_pss_mib": round(peak_total, 1),
        "peak_pss_mib_by_component": {k: round(v, 1) for k, v in peak_by_component.items()},
        "runs": runs,
    }
    out = ROOT / "bench" / "results" / "stack_startup.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")

    print(f"python start (baseline): {baseline:.3f}s")
    for c in components:
        print(
            f"{c:10s} cold {result['cold_s'][c]:6.2f}s  restart {result['restart_s'][c]:6.2f}s"
            f"  peak {result['peak_pss_mib_by_component'].get(c, 0):7.1f} MiB PSS"
        )
    print(f"idempotent up while running: {result['again_total_s']:.2f}s")
    print(f"wrote {out.relative_to(ROOT)}")
    print(
        f"stack ready: cold {result['cold_total_s']:.2f}s"
        f" ({result['cold_total_over_python_start']}x a python start),"
        f" restart {result['restart_total_s']:.2f}s, peak memory {result['peak_pss_mib']:.0f} MiB"
    )


if __name__ == "__main__":
    main()
