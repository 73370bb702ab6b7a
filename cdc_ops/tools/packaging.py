"""`cdc-ops lambda package NAME`: a deployable zip of one Lambda.

The zip holds the handler, the shared `lambdas` modules it needs, the `cdc_ops` modules they
import (cdc_ops.tools.imports: never the operator tooling), and the runtime
dependencies as manylinux wheels for the Lambda's architecture, pinned to the versions installed
here. boto3 is left out (the Lambda runtime provides it); dagster and pandas are never in it.
The zip is byte-for-byte reproducible: sorted entries, fixed timestamps.

It carries bytecode: Lambda's code directory is read-only, so without it every cold start
compiles every module again (measured: about 1.2 s against 0.3 s from bytecode). The .pyc files
are "unchecked-hash" (used without comparing a timestamp, which the fixed zip times would fail)
and compiled by this interpreter, which must be the runtime's Python.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from cdc_ops.errors import CdcOpsError
from cdc_ops.tools.imports import cdc_ops_closure

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# distributions the Lambda code imports; their own dependencies come along
_API_DEPS = (
    "aws-lambda-powertools",
    "pydantic",
    "pydantic-settings",
    "pyyaml",
    "psycopg",
    "psycopg-binary",
    "psycopg-pool",
)
_CONTROL_DEPS = (
    "aws-lambda-powertools",
    "pydantic",
    "pydantic-settings",
    "pyyaml",
    "psycopg",
    "psycopg-binary",
)


@dataclass(frozen=True)
class LambdaSpec:
    name: str
    handler: str
    modules: tuple[str, ...]  # packages under lambdas/ to include
    requirements: tuple[str, ...]


LAMBDAS = {
    spec.name: spec
    for spec in (
        LambdaSpec(
            "producer_api_pg",
            "lambdas.producer_api_pg.handler.handler",
            ("producer_api", "producer_api_pg"),
            _API_DEPS,
        ),
        LambdaSpec(
            "producer_api_dsql",
            "lambdas.producer_api_dsql.handler.handler",
            ("producer_api", "producer_api_dsql"),
            _API_DEPS,
        ),
        LambdaSpec(
            "auto_start", "lambdas.auto_start.handler.handler", ("auto_start",), _CONTROL_DEPS
        ),
        LambdaSpec("auto_stop", "lambdas.auto_stop.handler.handler", ("auto_stop",), _CONTROL_DEPS),
    )
}
# the Lambda runtime the wheels are picked for; terraform/ deploys python<this>
PYTHON_VERSION = "3.11"
PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
NEVER = ("dagster", "pandas", "boto3", "botocore", "s3transfer")
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)
LAMBDA_TASK_ROOT = "/var/task"


class PackagingError(CdcOpsError):
    """The zip could not be built."""


def _pinned(requirements: tuple[str, ...]) -> list[str]:
    return [f"{name}=={version(name)}" for name in requirements]


def _copy_tree(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def _compile(root: Path) -> None:
    if f"{sys.version_info.major}.{sys.version_info.minor}" != PYTHON_VERSION:
        raise PackagingError(
            f"bytecode for the python{PYTHON_VERSION} runtime needs Python {PYTHON_VERSION};"
            f" this is {sys.version.split()[0]}"
        )
    # a fixed hash seed keeps set and frozenset constants in one order: reproducible bytes
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            "-f",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            # the path tracebacks name: where Lambda unpacks the zip, not this build's tmp dir
            "-s",
            str(root),
            "-p",
            LAMBDA_TASK_ROOT,
            str(root),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    if result.returncode != 0:
        raise PackagingError(f"compiling the bytecode failed:\n{result.stdout[-2000:]}")


def build(
    name: str, out_dir: Path, *, arch: str = "x86_64", progress: Callable[[str], None] = print
) -> Path:
    if name not in LAMBDAS:
        raise PackagingError(f"unknown Lambda {name!r}; choose from {', '.join(LAMBDAS)}")
    spec = LAMBDAS[name]
    for module in spec.modules:
        if not (PROJECT_ROOT / "lambdas" / module).is_dir():
            raise PackagingError(f"{name}: lambdas/{module} does not exist yet")
    with tempfile.TemporaryDirectory(prefix=f"cdc-ops-{name}-") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        progress(f"{name}: installing {len(spec.requirements)} runtime dependencies for {arch}")
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",  # compiled below, reproducibly
                "--target",
                str(root),
                "--platform",
                PLATFORMS[arch],
                "--implementation",
                "cp",
                "--python-version",
                PYTHON_VERSION,
                "--only-binary=:all:",
                *_pinned(spec.requirements),
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise PackagingError(f"{name}: pip install failed:\n{result.stderr.strip()[-2000:]}")
        for never in NEVER:
            for path in root.glob(f"{never}*"):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        entry = [p for m in spec.modules for p in (PROJECT_ROOT / "lambdas" / m).glob("*.py")]
        for relative in cdc_ops_closure(entry, PROJECT_ROOT):
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(PROJECT_ROOT / relative, root / relative)
        (root / "lambdas").mkdir()
        shutil.copy(PROJECT_ROOT / "lambdas" / "__init__.py", root / "lambdas" / "__init__.py")
        for module in spec.modules:
            _copy_tree(PROJECT_ROOT / "lambdas" / module, root / "lambdas" / module)
        progress(f"{name}: compiling bytecode")
        _compile(root)
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"{name}.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                info = zipfile.ZipInfo(str(path.relative_to(root)), _FIXED_TIME)
                info.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())
    progress(
        f"{name}: {target} ({target.stat().st_size / 1024 / 1024:.1f} MiB), handler {spec.handler}"
    )
    return target
