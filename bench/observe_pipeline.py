"""observe_pipeline, before and after: wall time of one run, the processes it uses, and reads
per component per run, on a real local stack (PostgreSQL, PgBouncer, Kafka, moto, connector).

"before" is the code location at a given commit (default 5a509e6, the last one before the
pipeline observation was rebuilt), checked out as a git worktree; "after" is this tree. Both run
the same job with its own executor, as the daemon launches it, in the same stack and the same
session. Reads are counted in every process of the run by a sitecustomize probe at the readers'
entry points (cluster observer, PgBouncer reader, slot query, connector status, topics
described, statement status, group lag).

    .venv/bin/python bench/observe_pipeline.py [--runs 3] [--before COMMIT]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cdc_ops.settings import load_settings  # noqa: E402
from cdc_ops.tools.stack import Stack  # noqa: E402
from cdc_ops.tools.stack.scratch import scratch_env, scratch_state_dir  # noqa: E402

PROBE = Path(__file__).resolve().parent / "observe_pipeline_probe"
GOAL_SECONDS = 5.0


def measure(tree: Path, runs: int) -> dict:
    """Median wall time, processes and reads per component over `runs` runs (after a warm-up)."""
    samples = []
    for i in range(runs + 1):
        with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as reads:
            env = {
                **os.environ,
                "PYTHONPATH": f"{PROBE}:{tree}",
                "BENCH_COMPONENT_READS": reads.name,
                "DAGSTER_HOME": tempfile.mkdtemp(prefix="cdc-ops-bench-home-"),
            }
            Path(env["DAGSTER_HOME"], "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
            out = subprocess.run(
                [sys.executable, str(PROBE / "run_once.py")],
                cwd=tree,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert out.returncode == 0, out.stderr[-3000:]
            # success is not required: pipeline_health fails the run on this stack, which runs no
            # filter statement (no Flink); the parts are read all the same
            run = json.loads(out.stdout.strip().splitlines()[-1])
            counts: dict[str, int] = {}
            for line in Path(reads.name).read_text().splitlines():
                for part, n in json.loads(line)["counts"].items():
                    counts[part] = counts.get(part, 0) + n
            assert counts, f"no component was read:\n{out.stderr[-3000:]}"
            if i:  # the first run warms the caches
                samples.append({**run, "reads": counts})
    return {
        "seconds": round(statistics.median(s["seconds"] for s in samples), 2),
        "processes": statistics.median(s["pids"] for s in samples),
        "reads": samples[-1]["reads"],
        "reads_total": sum(samples[-1]["reads"].values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", default="5a509e6")
    args = parser.parse_args()

    state_dir = scratch_state_dir("cdc-ops-bench-observe-")
    os.environ.update(scratch_env(state_dir))
    stack = Stack(load_settings())
    before_tree = Path(tempfile.mkdtemp(prefix="cdc-ops-bench-before-")) / "tree"
    git = ["git", "-C", str(ROOT), "worktree"]
    subprocess.run([*git, "add", "--detach", str(before_tree), args.before], check=True)
    try:
        stack.up(["postgres", "pgbouncer", "kafka", "moto", "connector"])
        before = measure(before_tree, args.runs)
        after = measure(ROOT, args.runs)
    finally:
        stack.down()
        subprocess.run([*git, "remove", "--force", str(before_tree)], check=False)
        shutil.rmtree(state_dir, ignore_errors=True)

    result = {
        "benchmark": "observe_pipeline",
        "runs": args.runs,
        "before_commit": args.before,
        "before": before,
        "after": after,
        "speedup": round(before["seconds"] / after["seconds"], 1),
        "goal": {"processes": 1, "reads_per_component": 1, "seconds_under": GOAL_SECONDS},
    }
    out = ROOT / "bench" / "results" / "observe_pipeline.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    for name, m in (("before", before), ("after", after)):
        reads = ", ".join(f"{k} {v}" for k, v in sorted(m["reads"].items()))
        print(f"{name}: {m['seconds']} s, {m['processes']:g} process(es), reads: {reads}")
    print(f"wrote {out.relative_to(ROOT)}")
    print(
        f"observe_pipeline: {after['seconds']} s in {after['processes']:g} process(es) with"
        f" {after['reads_total']} reads, against {before['seconds']} s in"
        f" {before['processes']:g} process(es) with {before['reads_total']} reads before"
        f" ({result['speedup']}x; goal: 1 process, 1 read per component, under {GOAL_SECONDS:g} s)"
    )


if __name__ == "__main__":
    main()
