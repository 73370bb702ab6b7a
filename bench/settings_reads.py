"""Settings reads per observe_pipeline run, before and after the composition root.

"before" is the code location at a given commit (default 3e93650, the last one before the
composition root), checked out as a git worktree; "after" is this tree. Each runs the job once
with its own executor, as the daemon launches it, on the same real local stack (every component:
PostgreSQL, PgBouncer, Kafka, moto, Kafka Connect, Flink and its SQL Gateway); a sitecustomize
probe counts every Settings model built (env + YAML read) in every process of the run, the code
location's import included. The before tree gets only the port variables its settings know.

    .venv/bin/python bench/settings_reads.py [--before COMMIT]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from observe_pipeline import tree_env  # noqa: E402 - bench/, beside this file

from cdc_ops.settings import load_settings  # noqa: E402
from cdc_ops.tools.stack import Stack  # noqa: E402
from cdc_ops.tools.stack.scratch import scratch_env, scratch_state_dir  # noqa: E402

PROBE = Path(__file__).resolve().parent / "settings_reads_probe"
RUN_ONCE = Path(__file__).resolve().parent / "observe_pipeline_probe" / "run_once.py"


def reads_per_run(tree: Path) -> dict:
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as reads:
        home = tempfile.mkdtemp(prefix="cdc-ops-bench-home-")
        Path(home, "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        env = {
            **tree_env(tree, dict(os.environ)),
            "PYTHONPATH": f"{PROBE}:{tree}",
            "BENCH_SETTINGS_READS": reads.name,
            "DAGSTER_HOME": home,
        }
        out = subprocess.run(
            [sys.executable, str(RUN_ONCE)],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        shutil.rmtree(home, ignore_errors=True)
        assert out.returncode == 0, out.stderr[-3000:]
        lines = [json.loads(line) for line in Path(reads.name).read_text().splitlines()]
    return {"reads": sum(x["reads"] for x in lines), "processes": len(lines)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="3e93650")
    args = parser.parse_args()

    state_dir = scratch_state_dir("cdc-ops-bench-settings-")
    os.environ.update(scratch_env(state_dir))
    stack = Stack(load_settings())
    before_tree = Path(tempfile.mkdtemp(prefix="cdc-ops-bench-before-")) / "tree"
    git = ["git", "-C", str(ROOT), "worktree"]
    subprocess.run([*git, "add", "--detach", str(before_tree), args.before], check=True)
    try:
        stack.up()  # every component, so each reader of the run finds what it reads
        before = reads_per_run(before_tree)
        after = reads_per_run(ROOT)
    finally:
        stack.down()
        subprocess.run([*git, "remove", "--force", str(before_tree)], check=False)
        shutil.rmtree(before_tree.parent, ignore_errors=True)
        shutil.rmtree(state_dir, ignore_errors=True)

    result = {
        "benchmark": "settings_reads",
        "before_commit": args.before,
        "before": before,
        "after": after,
        "goal": "one read per process, run or tick",
    }
    out = ROOT / "bench" / "results" / "settings_reads.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    print(
        f"settings reads per observe_pipeline run: {after['reads']} in {after['processes']}"
        f" process(es), against {before['reads']} in {before['processes']} before"
    )


if __name__ == "__main__":
    main()
