"""Redeploying the filters: compare what should run with what runs, change only that.

`plan` is pure: a statement is created when absent, replaced when it does not run or its SQL
differs, left alone when it is the same, and stopped when its filter was removed or disabled.
`redeploy` creates the output topics first (the control plane owns them: partitions chosen here,
not by a sink's auto-creation), then applies the plan statement by statement; a statement that
fails to deploy is reported and its previous version keeps running.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cdc_ops.errors import CdcOpsError
from cdc_ops.filters.compiler import Compiled, Statement
from cdc_ops.filters.files import compile_for
from cdc_ops.flink.statements import (
    ABSENT,
    RUNNING,
    StatementBackend,
    StatementState,
)
from cdc_ops.kafka.topics import TopicAdmin, TopicSpec

if TYPE_CHECKING:
    from cdc_ops.adapters import Adapters


def normalize(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip().rstrip(";").strip()


@dataclass(frozen=True)
class Change:
    name: str
    action: str  # create, replace, unchanged, stop
    reason: str
    statement: Statement | None = None


def plan(
    compiled: Compiled, current: dict[str, StatementState], only: set[str] | None = None
) -> list[Change]:
    """`only`: plan just these statements (one asset materialized), and stop nothing."""
    changes = []
    wanted = {s.name for s in compiled.statements}
    for s in compiled.statements:
        if only is not None and s.name not in only:
            continue
        state = current.get(s.name, StatementState(s.name, ABSENT))
        if state.phase == ABSENT:
            changes.append(Change(s.name, "create", "not deployed yet", s))
        elif normalize(state.sql) != normalize(s.insert):
            changes.append(Change(s.name, "replace", "its SQL changed", s))
        elif state.phase != RUNNING:
            changes.append(Change(s.name, "replace", f"it is {state.phase}", s))
        else:
            changes.append(Change(s.name, "unchanged", "running with the same SQL", s))
    for name, state in sorted(current.items()):
        if only is None and name not in wanted and state.phase not in (ABSENT, "STOPPED"):
            changes.append(Change(name, "stop", "its filter was removed or disabled"))
    return changes


@dataclass
class DeployReport:
    changes: list[Change]
    dry_run: bool
    topics_created: list[str] = field(default_factory=list)
    deployed: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


def redeploy(
    compiled: Compiled,
    backend: StatementBackend,
    topics: TopicAdmin | None,
    partitions: int,
    dry_run: bool = False,
    only: set[str] | None = None,
) -> DeployReport:
    """Apply the plan; `only` limits it to some statements (and then nothing is stopped)."""
    names = backend.names() if only is None else [n for n in backend.names() if n in only]
    current = {name: backend.status(name) for name in names}
    statements = [s for s in compiled.statements if only is None or s.name in only]
    for s in statements:
        if s.name not in current:  # read each statement once
            current[s.name] = backend.status(s.name)
    changes = plan(compiled, current, only)
    report = DeployReport(changes, dry_run)
    if dry_run:
        return report
    if topics is not None:
        specs = [TopicSpec(s.filter.output_topic, partitions) for s in statements]
        report.topics_created = topics.ensure(specs)
    for change in changes:
        try:
            if change.action in ("create", "replace") and change.statement is not None:
                s = change.statement
                state = backend.deploy(s.name, [compiled.source_ddl, s.sink_ddl], s.insert)
                report.deployed[s.name] = state.phase
            elif change.action == "stop":
                backend.stop(change.name)
                report.deployed[change.name] = "STOPPED"
        except Exception as exc:  # noqa: BLE001 - one statement failing must not end the plan
            what = str(exc) if isinstance(exc, CdcOpsError) else f"{type(exc).__name__}: {exc}"
            report.failed[change.name] = what
    return report


def redeploy_filters(
    adapters: Adapters,
    filters_file: Path | None = None,
    *,
    dry_run: bool = False,
    only: set[str] | None = None,
) -> DeployReport:
    """The filters redeploy, once: filters.yaml compiled for this Flink, then only what changed
    deployed (`only`: just these statements). What the `redeploy_filters` job and
    `cdc-ops filters deploy` run."""
    settings = adapters.settings
    return redeploy(
        compile_for(settings, filters_file),
        adapters.statement_backend,
        None if dry_run else adapters.topic_admin(),  # a dry run creates no topic
        settings.names.filtered_topic_partitions,
        dry_run=dry_run,
        only=only,
    )
