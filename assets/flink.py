"""Flink filter statements: one observed asset per statement, a RUNNING check each, and the
`redeploy_filters` job behind the operators' "redeploy filters" button."""

import logging

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetSpec,
    Config,
    Failure,
    MetadataValue,
    ObserveResult,
    OpExecutionContext,
    Output,
    asset_check,
    job,
    multi_observable_source_asset,
    op,
)

from assets.keys import statement_key, topic_key
from assets.resources import CdcOpsResource
from cdc_ops.filters.compiler import statement_name
from cdc_ops.filters.files import FILTERS_FILE
from cdc_ops.filters.model import Filter, FiltersError, load_filters
from cdc_ops.flink.deploy import compile_for, redeploy, statement_backend
from cdc_ops.flink.statements import StatementError, StatementState
from cdc_ops.kafka_topics import TopicAdmin
from cdc_ops.settings import Settings

log = logging.getLogger(__name__)


def current_filters() -> list[Filter]:
    """The filters the graph is drawn from; a broken file draws none (the job says why)."""
    try:
        return load_filters(FILTERS_FILE).active
    except FiltersError as exc:
        log.warning("flink statements left out of the asset graph: %s", exc)
        return []


def build_statement_assets(settings: Settings, filters: list[Filter]) -> list:
    if not filters:
        return []
    raw = topic_key(settings.names.raw_topic)
    names = {statement_name(f): f for f in filters}
    specs = [
        AssetSpec(
            statement_key(name),
            deps=[raw],
            description=f"Flink statement {name}: {f.description or f.name} -> {f.output_topic}",
            metadata={"statement": name, "output_topic": f.output_topic},
            group_name="flink",
        )
        for name, f in names.items()
    ]

    @multi_observable_source_asset(specs=specs, name="flink_statements")
    def flink_statements(context: AssetExecutionContext, cdc_ops: CdcOpsResource):
        try:
            backend = statement_backend(cdc_ops.settings())
        except StatementError as exc:
            backend = None
            context.log.warning(str(exc))
        for name in names:
            state = backend.status(name) if backend else StatementState(name, "UNKNOWN")
            yield ObserveResult(
                asset_key=statement_key(name),
                metadata={
                    "phase": state.phase,
                    "detail": state.detail,
                    "offsets": MetadataValue.json(state.offsets),
                    "sql": MetadataValue.md(f"```sql\n{state.sql}\n```"),
                },  # fmt: skip
            )

    checks = [_running_check(name) for name in names]
    return [flink_statements, *checks]


def _running_check(name: str):
    @asset_check(asset=statement_key(name), name="statement_running",
                 description=f"{name} is RUNNING.")  # fmt: skip
    def statement_running(cdc_ops: CdcOpsResource) -> AssetCheckResult:
        state = statement_backend(cdc_ops.settings()).status(name)
        return AssetCheckResult(
            passed=state.phase == "RUNNING",
            severity=AssetCheckSeverity.ERROR,
            metadata={"phase": state.phase, "detail": state.detail},
        )

    return statement_running


class RedeployConfig(Config):
    dry_run: bool = False


@op(description="Compile filters.yaml, validate with Flink's planner, deploy what changed.")
def redeploy_filters_op(context: OpExecutionContext, cdc_ops: CdcOpsResource,
                        config: RedeployConfig):  # fmt: skip
    settings = cdc_ops.settings()
    try:
        compiled = compile_for(settings)
    except FiltersError as exc:
        raise Failure(description=str(exc)) from None
    report = redeploy(compiled, statement_backend(settings), TopicAdmin(settings),
                      settings.names.filtered_topic_partitions, dry_run=config.dry_run)  # fmt: skip
    rows = ["| statement | action | why | outcome |", "|---|---|---|---|"]
    for change in report.changes:
        outcome = report.failed.get(change.name) or report.deployed.get(change.name, "")
        rows.append(f"| {change.name} | {change.action} | {change.reason} | {outcome} |")
        context.log.info(f"{change.name}: {change.action} ({change.reason}) {outcome}")
    metadata = {
        "plan": MetadataValue.md("\n".join(rows)),
        "dry_run": MetadataValue.bool(config.dry_run),
        "changed": MetadataValue.int(sum(c.action != "unchanged" for c in report.changes)),
        "topics_created": MetadataValue.json(report.topics_created),
    }
    if report.failed:
        # the previous versions keep running; the run fails so the failure alert goes out
        raise Failure(description="; ".join(f"{k}: {v}" for k, v in report.failed.items()),
                      metadata=metadata)  # fmt: skip
    yield Output(len(report.deployed), metadata=metadata)


@job(description="Redeploy the Flink filter statements from flink_sql/filters.yaml: only "
     "what changed; set dry_run to see the plan without deploying.")  # fmt: skip
def redeploy_filters() -> None:
    redeploy_filters_op()
