"""`cdc-ops lambda package`: a self-contained, reproducible zip without dagster or pandas.

Builds from PyPI wheels (pip), so it needs the package registry, as CI has.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cdc_ops.tools.packaging import PackagingError, build

pytestmark = pytest.mark.e2e


def test_producer_zip_is_self_contained_and_reproducible(tmp_path: Path) -> None:
    first = build("producer_api_pg", tmp_path / "a", progress=lambda _m: None)
    second = build("producer_api_pg", tmp_path / "b", progress=lambda _m: None)
    assert first.read_bytes() == second.read_bytes()

    names = zipfile.ZipFile(first).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {"cdc_ops", "lambdas", "psycopg", "psycopg_pool", "aws_lambda_powertools"} <= tops
    assert "lambdas/producer_api_pg/handler.py" in names
    assert "lambdas/producer_api_dsql/handler.py" not in names
    # only the cdc_ops modules the handler imports: never the operator tooling
    assert "cdc_ops/adapters.py" in names and "cdc_ops/producer/repository.py" in names
    assert not [n for n in names if n.startswith("cdc_ops/tools/")]
    assert not {t for t in tops if t.split("-")[0] in ("dagster", "pandas", "boto3")}
    assert first.stat().st_size < 20 * 1024 * 1024
    # bytecode for every module, used as is: Lambda's code directory is read-only
    sources = {n for n in names if n.endswith(".py")}
    compiled = {n for n in names if n.endswith(".cpython-311.pyc")}
    assert len(compiled) == len(sources)
    assert "cdc_ops/producer/__pycache__/repository.cpython-311.pyc" in compiled

    # Import the handler from the zip alone: no site-packages (-S), nothing of this venv.
    root = tmp_path / "unzipped"
    zipfile.ZipFile(first).extractall(root)
    probe = subprocess.run(
        [
            sys.executable,
            "-S",
            "-c",
            "import sys; sys.path[:0] = [sys.argv[1]]; sys.dont_write_bytecode = True\n"
            "import lambdas.producer_api_pg.handler as h\n"
            "assert callable(h.handler)\n"
            "assert not {'dagster', 'pandas', 'confluent_kafka'} & set(sys.modules), sys.modules\n"
            "compiled = sys.modules['cdc_ops.producer.repository'].__cached__\n"
            "assert compiled.endswith('repository.cpython-311.pyc'), compiled\n"
            "print('ok')",
            str(root),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "ok"


def test_unknown_lambda_is_named() -> None:
    with pytest.raises(PackagingError, match="unknown Lambda 'producer'; choose from producer_api"):
        build("producer", Path("unused"))
