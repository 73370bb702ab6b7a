"""The committed SQL under flink_sql/generated/: compile it, check it is current, show the diff."""

from __future__ import annotations

import difflib
from pathlib import Path

from cdc_ops.filters.compiler import Compiled, Target, compile_filters
from cdc_ops.filters.model import load_filters
from cdc_ops.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FILTERS_FILE = PROJECT_ROOT / "flink_sql" / "filters.yaml"
GENERATED_DIR = PROJECT_ROOT / "flink_sql" / "generated"


def rendered(filters_file: Path = FILTERS_FILE, out_dir: Path = GENERATED_DIR) -> dict[Path, str]:
    """Every target's SQL, as it should be committed (servers left as a placeholder)."""
    filters = load_filters(filters_file)
    return {out_dir / t.file_name: compile_filters(filters, t).script() for t in Target}


def write(filters_file: Path = FILTERS_FILE, out_dir: Path = GENERATED_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    changed = []
    for path, text in rendered(filters_file, out_dir).items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    return changed


def stale(filters_file: Path = FILTERS_FILE, out_dir: Path = GENERATED_DIR) -> list[Path]:
    return [
        path
        for path, text in rendered(filters_file, out_dir).items()
        if not path.exists() or path.read_text() != text
    ]


def diff(filters_file: Path = FILTERS_FILE, out_dir: Path = GENERATED_DIR) -> str:
    chunks = []
    for path, text in rendered(filters_file, out_dir).items():
        before = path.read_text().splitlines(keepends=True) if path.exists() else []
        chunks.extend(
            difflib.unified_diff(
                before,
                text.splitlines(keepends=True),
                f"{path.name} (committed)",
                f"{path.name} (from filters.yaml)",
            )
        )
    return "".join(chunks)


def compile_for(settings: Settings, filters_file: Path | None = None) -> Compiled:
    """filters.yaml compiled for the settings' Flink (its target and the raw topic's servers)."""
    filters = load_filters(filters_file or FILTERS_FILE)
    target = Target(settings.flink.target or "apache-flink")
    return compile_filters(
        filters, target, settings.names.raw_topic, bootstrap=settings.kafka.bootstrap_servers or ""
    )
