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
from typing import Protocol

from cdc_ops.filters.compiler import Compiled, Statement
from cdc_ops.flink.statements import ABSENT, RUNNING, StatementError, StatementState
from cdc_ops.kafka.topics import TopicAdmin, TopicSpec
from cdc_ops.settings import Settings


class StatementBackend(Protocol):
    kind: str

    def names(self) -> list[str]: ...
    def status(self, name: str) -> StatementState: ...
    def validate(self, name: str, ddl: list[str], insert: str) -> str | None: ...
    def deploy(self, name: str, ddl: list[str], insert: str) -> StatementState: ...
    def stop(self, name: str) -> None: ...


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
        current.setdefault(s.name, backend.status(s.name))
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
        except StatementError as exc:
            report.failed[change.name] = str(exc)
    return report


def statement_backend(settings: Settings) -> StatementBackend:
    if settings.flink.backend == "local":
        from cdc_ops.tools.stack.flink_statements import LocalFlinkStatements

        return LocalFlinkStatements(settings, start_timeout_s=settings.flink.start_timeout_s)
    f = settings.flink
    if f.backend == "confluent_cloud":
        needed = {
            "confluent_url": f.confluent_url,
            "confluent_organization": f.confluent_organization,
            "confluent_environment": f.confluent_environment,
            "confluent_compute_pool": f.confluent_compute_pool,
            "confluent_principal": f.confluent_principal,
            "confluent_catalog": f.confluent_catalog,
            "confluent_database": f.confluent_database,
            "confluent_api_key": f.confluent_api_key,
            "confluent_api_secret": f.confluent_api_secret,
        }
        missing = [f"flink.{k}" for k, v in needed.items() if not v]
        if missing:
            raise StatementError(f"flink.backend=confluent_cloud needs {', '.join(missing)}")
        from cdc_ops.flink.cloud_deploy import CloudStatementBackend
        from cdc_ops.flink.statements import ConfluentCloudStatements

        client = ConfluentCloudStatements(
            f.confluent_url,
            f.confluent_organization,
            f.confluent_environment,
            f.confluent_compute_pool,
            f.confluent_principal,
            f.confluent_catalog,
            f.confluent_database,
            f.confluent_api_key.get_secret_value(),
            f.confluent_api_secret.get_secret_value(),
        )  # type: ignore[arg-type]
        return CloudStatementBackend(client, start_timeout_s=f.start_timeout_s)
    raise StatementError(
        "redeploying through flink.backend=sql_gateway is not wired to the deploy plan; its"
        " REST client is cdc_ops.flink.statements.SqlGatewayStatements"
    )


def compile_for(settings: Settings, filters_file: Path | None = None) -> Compiled:
    from cdc_ops.filters.compiler import Target, compile_filters
    from cdc_ops.filters.files import FILTERS_FILE
    from cdc_ops.filters.model import load_filters

    filters = load_filters(filters_file or FILTERS_FILE)
    target = Target(settings.flink.target or "apache-flink")
    return compile_filters(
        filters, target, settings.names.raw_topic, bootstrap=settings.kafka.bootstrap_servers or ""
    )
