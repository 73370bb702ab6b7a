"""observe_pipeline, before and after: wall time of one run, the processes it uses, and reads
per component per run, on a real local stack (PostgreSQL, PgBouncer, Kafka, moto, Kafka Connect
streaming the connector, Flink with its SQL Gateway running the four shipped filter statements).

"before" is the code location at a given commit (default 5a509e6, the last one before the
pipeline observation was rebuilt), checked out as a git worktree; "after" is this tree. Both run
the same job with its own executor, as the daemon launches it, in the same stack and the same
session. Reads are counted in every process of the run by a sitecustomize probe at the readers'
entry points (cluster observer, PgBouncer reader, slot query, connector status - Kafka Connect's
REST API now, the embedded engine's files before -, topics described, statement status - the
SQL Gateway and JobManager now, the PyFlink jobs' files before -, group lag). The before tree
knows neither Connect nor the gateway: it reads its connector and statements as absent, and gets
only the port variables its settings know.

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

from cdc_ops.adapters import Adapters  # noqa: E402
from cdc_ops.filters.files import compile_for  # noqa: E402
from cdc_ops.flink.deploy import redeploy  # noqa: E402
from cdc_ops.kafka.topics import TopicAdmin  # noqa: E402
from cdc_ops.settings import load_settings  # noqa: E402
from cdc_ops.tools.stack import Stack  # noqa: E402
from cdc_ops.tools.stack.scratch import scratch_env, scratch_state_dir  # noqa: E402

PROBE = Path(__file__).resolve().parent / "observe_pipeline_probe"
GOAL_SECONDS = 5.0


def tree_env(tree: Path, env: dict[str, str]) -> dict[str, str]:
    """env without the local port variables the tree's settings do not know: they forbid unknown
    keys, and a tree from before Kafka Connect and Flink knows four ports."""
    clean = {k: v for k, v in env.items() if not k.startswith("CDC_OPS_")}
    fields = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from cdc_ops.settings import LocalPorts;"
            " print(json.dumps(list(LocalPorts.model_fields)))",
        ],
        cwd=tree,
        env={**clean, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=True,
    )
    known = {f"CDC_OPS_LOCAL__PORTS__{f.upper()}" for f in json.loads(fields.stdout)}
    return {
        k: v for k, v in env.items() if not k.startswith("CDC_OPS_LOCAL__PORTS__") or k in known
    }


def measure(tree: Path, runs: int) -> dict:
    """Median wall time, processes and reads per component over `runs` runs (after a warm-up)."""
    samples = []
    base_env = tree_env(tree, dict(os.environ))
    for i in range(runs + 1):
        home = tempfile.mkdtemp(prefix="cdc-ops-bench-home-")
        Path(home, "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        try:
            with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as reads:
                env = {
                    **base_env,
                    "PYTHONPATH": f"{PROBE}:{tree}",
                    "BENCH_COMPONENT_READS": reads.name,
                    "DAGSTER_HOME": home,
                }
                out = subprocess.run(
                    [sys.executable, str(PROBE / "run_once.py")],
                    cwd=tree,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                assert out.returncode == 0, out.stderr[-3000:]
                # success is not required (the before tree finds no connector and no statement
                # on this stack and fails its health check); the parts are read all the same
                run = json.loads(out.stdout.strip().splitlines()[-1])
                counts: dict[str, int] = {}
                for line in Path(reads.name).read_text().splitlines():
                    for part, n in json.loads(line)["counts"].items():
                        counts[part] = counts.get(part, 0) + n
                assert counts, f"no component was read:\n{out.stderr[-3000:]}"
        finally:
            shutil.rmtree(home, ignore_errors=True)
        if i:  # the first run warms the caches
            samples.append({**run, "reads": counts})
    return {
        "seconds": round(statistics.median(s["seconds"] for s in samples), 2),
        "processes": statistics.median(s["pids"] for s in samples),
        "success": all(s["success"] for s in samples),
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
    settings = load_settings()
    stack = Stack(settings)
    before_tree = Path(tempfile.mkdtemp(prefix="cdc-ops-bench-before-")) / "tree"
    git = ["git", "-C", str(ROOT), "worktree"]
    subprocess.run([*git, "add", "--detach", str(before_tree), args.before], check=True)
    try:
        stack.up()  # every component: the connector streams once `up` returns
        report = redeploy(
            compile_for(settings), Adapters(settings).statement_backend, TopicAdmin(settings), 3
        )
        if not report.ok:
            raise SystemExit(f"the filter statements did not deploy: {report.failed}")
        before = measure(before_tree, args.runs)
        after = measure(ROOT, args.runs)
    finally:
        stack.down()
        subprocess.run([*git, "remove", "--force", str(before_tree)], check=False)
        shutil.rmtree(before_tree.parent, ignore_errors=True)
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
        print(
            f"{name}: {m['seconds']} s, {m['processes']:g} process(es),"
            f" {'succeeded' if m['success'] else 'failed'}, reads: {reads}"
        )
    print(f"wrote {out.relative_to(ROOT)}")
    print(
        f"observe_pipeline: {after['seconds']} s in {after['processes']:g} process(es) with"
        f" {after['reads_total']} reads, against {before['seconds']} s in"
        f" {before['processes']:g} process(es) with {before['reads_total']} reads before"
        f" ({result['speedup']}x; goal: 1 process, 1 read per component, under {GOAL_SECONDS:g} s)"
    )


if __name__ == "__main__":
    main()
