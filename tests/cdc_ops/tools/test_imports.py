"""What a Lambda zip carries of cdc_ops: its handler's imports, followed (pure, from source)."""

from __future__ import annotations

from pathlib import Path

from cdc_ops.tools.imports import cdc_ops_closure
from tests.conftest import ROOT


def closure(*lambda_modules: str) -> set[str]:
    entry = [p for m in lambda_modules for p in (ROOT / "lambdas" / m).glob("*.py")]
    return {str(p) for p in cdc_ops_closure(entry, ROOT)}


def test_the_auto_stop_lambda_carries_the_lifecycle_and_no_tooling() -> None:
    files = closure("auto_stop")
    assert {
        "cdc_ops/__init__.py",
        "cdc_ops/adapters.py",
        "cdc_ops/cluster/__init__.py",
        "cdc_ops/cluster/auto_stop.py",
        "cdc_ops/cluster/control.py",
        "cdc_ops/settings.py",
    } <= files
    assert not {f for f in files if f.startswith("cdc_ops/tools/")}
    assert "cdc_ops/producer/repository.py" not in files  # the producer API's, not this one's


def test_imports_inside_functions_count_and_type_checking_ones_do_not(tmp_path: Path) -> None:
    pkg = tmp_path / "cdc_ops"
    for name in ("__init__", "used_lazily", "only_typed"):
        (pkg / f"{name}.py").parent.mkdir(exist_ok=True)
        (pkg / f"{name}.py").write_text("")
    (pkg / "tools").mkdir()
    (pkg / "tools" / "__init__.py").write_text("")
    entry = tmp_path / "handler.py"
    entry.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from cdc_ops import only_typed\n"
        "def handler():\n    from cdc_ops import used_lazily\n    import cdc_ops.tools\n"
    )
    assert {str(p) for p in cdc_ops_closure([entry], tmp_path)} == {
        "cdc_ops/__init__.py",
        "cdc_ops/used_lazily.py",
    }
