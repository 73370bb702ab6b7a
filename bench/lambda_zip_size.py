"""Each Lambda zip's size, before and after it was built from what its handler imports.

"before" is the tree at a given commit (default 3e93650, which copied all of `cdc_ops`, CLI and
local stack included), checked out as a git worktree; "after" is this tree. Both build every
Lambda in the same run, from the same pinned wheels (pip, so the package registry must answer).

    .venv/bin/python bench/lambda_zip_size.py [--before COMMIT]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAMBDAS = ("producer_api_pg", "producer_api_dsql", "auto_start", "auto_stop")

# run inside the tree measured: its own packaging module, wherever that tree keeps it (the old
# place first: the editable install would find the new one in this tree for any tree)
PROBE = """
import json, sys, zipfile
from pathlib import Path
try:
    from cdc_ops.packaging import build
except ImportError:
    from cdc_ops.tools.packaging import build
out = {}
for name in sys.argv[2:]:
    path = build(name, Path(sys.argv[1]), progress=lambda m: None)
    names = zipfile.ZipFile(path).namelist()
    out[name] = {
        "bytes": path.stat().st_size,
        "files": len(names),
        "cdc_ops_files": sum(n.startswith("cdc_ops/") for n in names),
        "cdc_ops_bytes": sum(
            i.compress_size for i in zipfile.ZipFile(path).infolist()
            if i.filename.startswith("cdc_ops/")
        ),
    }
print(json.dumps(out))
"""


def sizes(tree: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="cdc-ops-bench-zips-") as out:
        done = subprocess.run(
            [sys.executable, "-c", PROBE, out, *LAMBDAS],
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree)},
            capture_output=True,
            text=True,
            timeout=1200,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="3e93650")
    args = parser.parse_args()
    before_tree = Path(tempfile.mkdtemp(prefix="cdc-ops-bench-before-")) / "tree"
    git = ["git", "-C", str(ROOT), "worktree"]
    subprocess.run([*git, "add", "--detach", str(before_tree), args.before], check=True)
    try:
        before = sizes(before_tree)
        after = sizes(ROOT)
    finally:
        subprocess.run([*git, "remove", "--force", str(before_tree)], check=False)
    result = {"benchmark": "lambda_zip_size", "before_commit": args.before, "lambdas": {}}
    for name in LAMBDAS:
        b, a = before[name], after[name]
        result["lambdas"][name] = {"before": b, "after": a}
        print(
            f"{name}: {a['bytes']:,} bytes ({a['cdc_ops_files']} cdc_ops files,"
            f" {a['cdc_ops_bytes']:,} bytes of them) against {b['bytes']:,}"
            f" ({b['cdc_ops_files']}, {b['cdc_ops_bytes']:,})"
        )
    out = ROOT / "bench" / "results" / "lambda_zip_size.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    total_b = sum(before[n]["cdc_ops_bytes"] for n in LAMBDAS)
    total_a = sum(after[n]["cdc_ops_bytes"] for n in LAMBDAS)
    print(
        f"lambda zips: cdc_ops part {total_a:,} bytes over the four, against {total_b:,} before"
        f" ({total_a / total_b:.2f}x); auto_stop.zip {after['auto_stop']['bytes']:,} bytes"
        f" against {before['auto_stop']['bytes']:,}"
    )


if __name__ == "__main__":
    main()
