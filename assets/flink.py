"""Flink filter statements: materializing a statement asset deploys it (only what changed), and
`redeploy_filters` is the named button, an asset job over all of them. Each statement's
`statement_running` check is evaluated in the same op, right after the deploy."""

import logging
from datetime import UTC, datetime
from typing import Any

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetObservation,
    AssetSelection,
    AssetSpec,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    OpExecutionContext,
    define_asset_job,
    in_process_executor,
    job,
    multi_asset,
    op,
)

from assets.health import check_evaluation, check_key, check_result, number, observed_at
from assets.keys import STATEMENT_CHECK, statement_key, topic_key
from assets.resources import CdcOpsResource
from cdc_ops.adapters import Adapters
from cdc_ops.alerts.delivery import Scrubber
from cdc_ops.filters.compiler import statement_name
from cdc_ops.filters.files import FILTERS_FILE
from cdc_ops.filters.model import Filter, FiltersError, load_filters
from cdc_ops.flink.deploy import DeployReport, redeploy_filters
from cdc_ops.flink.runtime import StatementRuntime
from cdc_ops.flink.statements import StatementError, StatementState
from cdc_ops.health.reading import with_runtime
from cdc_ops.health.verdicts import statement_health
from cdc_ops.settings import Settings, Thresholds

log = logging.getLogger(__name__)

REDEPLOY_JOB = "redeploy_filters"


def current_filters() -> tuple[list[Filter], str | None]:
    """The filters the graph is drawn from, or none and why (a broken file)."""
    try:
        return load_filters(FILTERS_FILE).active, None
    except FiltersError as exc:
        log.warning("flink statements left out of the asset graph: %s", exc)
        return [], str(exc)


def _float(value: float | None) -> Any:
    """A rate or ratio as a float every time (the Plots tab draws one series per label)."""
    return MetadataValue.null() if value is None else MetadataValue.float(float(value))


def _at(value: datetime | None) -> Any:
    return MetadataValue.null() if value is None else MetadataValue.timestamp(value)


def runtime_metadata(runtime: StatementRuntime | None) -> dict[str, Any]:
    """What the statement's job is doing, as numbers the Plots tab draws; null where Flink did
    not say (the reasons under runtime_unavailable)."""
    if runtime is None:
        return {}
    cp = runtime.last_checkpoint
    out: dict[str, Any] = {
        "job_id": runtime.job_id or MetadataValue.null(),
        "job_state": runtime.job_state or MetadataValue.null(),
        "uptime_s": _float(runtime.uptime_s),
        "records_in": number(runtime.records_in),
        "records_out": number(runtime.records_out),
        "records_in_per_s": _float(runtime.records_in_per_s),
        "records_out_per_s": _float(runtime.records_out_per_s),
        "backpressure_ratio": _float(runtime.backpressure_ratio),
        "backpressure_level": runtime.backpressure_level or MetadataValue.null(),
        "restarts": number(runtime.restarts),
        "last_exception": runtime.last_exception or MetadataValue.null(),
        "last_exception_at": _at(runtime.last_exception_at),
        "last_checkpoint_id": number(cp.id if cp else None),
        "last_checkpoint_at": _at(cp.at if cp else None),
        "last_checkpoint_duration_ms": number(cp.duration_ms if cp else None),
        "last_checkpoint_size_bytes": number(cp.size_bytes if cp else None),
        "failed_checkpoints": number(runtime.failed_checkpoints),
    }
    if runtime.unavailable:
        out["runtime_unavailable"] = MetadataValue.json(runtime.unavailable)
    return out


def statement_metadata(
    state: StatementState, at: datetime, thresholds: Thresholds | None = None
) -> dict[str, Any]:
    return {
        "phase": state.phase,
        "detail": state.detail,
        "offsets": MetadataValue.json(state.offsets),
        "sql": MetadataValue.md(f"```sql\n{state.sql}\n```"),
        "health": statement_health(state, thresholds).says,
        **runtime_metadata(state.runtime),
        **observed_at(at),
    }


def statement_events(
    state: StatementState, at: datetime, thresholds: Thresholds | None = None
) -> list:
    """The observation and its check; the runtime travels inside the state (read_pipeline
    fills it)."""
    key = statement_key(state.name)
    return [
        AssetObservation(asset_key=key, metadata=statement_metadata(state, at, thresholds)),
        check_evaluation(key, STATEMENT_CHECK, statement_health(state, thresholds)),
    ]


class RedeployConfig(Config):
    dry_run: bool = False


def _plan_table(report: DeployReport) -> MetadataValue:
    rows = ["| statement | action | why | outcome |", "|---|---|---|---|"]
    for change in report.changes:
        outcome = report.failed.get(change.name) or report.deployed.get(change.name, "")
        rows.append(f"| {change.name} | {change.action} | {change.reason} | {outcome} |")
    return MetadataValue.md("\n".join(rows))


def build_statement_assets(settings: Settings, filters: list[Filter]) -> list:
    names = {statement_key(statement_name(f)): (statement_name(f), f) for f in filters}
    raw = topic_key(settings.names.raw_topic)
    specs = [
        AssetSpec(
            key,
            deps=[raw],
            description=f"Flink statement {name}: {f.description or f.name} -> "
            f"{f.output_topic}. Materialize to deploy it (only if it changed).",
            metadata={"statement": name, "output_topic": f.output_topic},
            group_name="flink",
            skippable=True,  # a dry run deploys nothing, so it records no materialization
        )
        for key, (name, f) in names.items()
    ]
    checks = [
        AssetCheckSpec(STATEMENT_CHECK, asset=key, description=f"{name} is RUNNING.")
        for key, (name, _) in names.items()
    ]

    @multi_asset(specs=specs, check_specs=checks, can_subset=True, name="flink_statements")
    def flink_statements(
        context: AssetExecutionContext, cdc_ops: CdcOpsResource, config: RedeployConfig
    ):
        adapters = cdc_ops.adapters
        try:
            backend = adapters.statement_backend
        except StatementError as exc:
            raise Failure(description=str(exc)) from None
        selected = {names[k][0] for k in context.selected_asset_keys}
        changes = {}
        if selected:
            everything = len(selected) == len(names)
            report = _deploy(context, adapters, selected, everything, config.dry_run)
            changes = {c.name: c for c in report.changes}
        checked = {c.asset_key for c in context.selected_asset_check_keys}
        at = datetime.now(UTC)
        thresholds = adapters.settings.thresholds
        scrub = Scrubber(adapters.settings.secret_values())  # once per run, not per statement
        for key, (name, _) in names.items():
            if name not in selected and key not in checked:
                continue
            # the state right after the deploy, with what its job is doing
            state = with_runtime(adapters, backend.status(name), scrub)
            metadata = statement_metadata(state, at, thresholds)
            change = changes.get(name)
            if change is not None:
                metadata = {"action": change.action, "why": change.reason, **metadata}
            if name in selected and not config.dry_run:
                yield MaterializeResult(asset_key=key, metadata=metadata)
            else:  # a dry run, or only the check: what runs now is an observation
                context.log_event(AssetObservation(asset_key=key, metadata=metadata))
            if check_key(key, STATEMENT_CHECK) in context.selected_asset_check_keys:
                yield check_result(key, STATEMENT_CHECK, statement_health(state, thresholds))

    return [flink_statements]


def _deploy(
    context: AssetExecutionContext,
    adapters: Adapters,
    selected: set[str],
    everything: bool,
    dry_run: bool,
) -> DeployReport:
    try:
        report = redeploy_filters(
            adapters,
            dry_run=dry_run,
            # everything selected (the redeploy button): statements of removed filters stop too
            only=None if everything else selected,
        )
    except FiltersError as exc:
        raise Failure(description=str(exc)) from None
    for change in report.changes:
        outcome = report.failed.get(change.name) or report.deployed.get(change.name, "")
        context.log.info(f"{change.name}: {change.action} ({change.reason}) {outcome}")
    if report.failed:
        # the previous versions keep running; the run fails so the failure alert goes out
        raise Failure(
            description="; ".join(f"{k}: {v}" for k, v in report.failed.items()),
            metadata={"plan": _plan_table(report), "dry_run": MetadataValue.bool(dry_run)},
        )
    return report


def build_redeploy_job(statements: list, broken: str | None):
    """The operators' "redeploy filters" button: every statement asset and its check."""
    if statements:
        return define_asset_job(
            REDEPLOY_JOB,
            selection=AssetSelection.assets(*statements),
            executor_def=in_process_executor,
            description="Redeploy the Flink filter statements from flink_sql/filters.yaml: only "
            "what changed, and stop those of removed filters; set dry_run to see the plan "
            "without deploying. Reload the code location after editing the file.",
        )

    if broken is None:  # no active filter: the button stops what removed filters left running

        @op(name="stop_removed_statements")
        def stop_removed(context: OpExecutionContext, cdc_ops: CdcOpsResource) -> None:
            _deploy(context, cdc_ops.adapters, set(), everything=True, dry_run=False)

        @job(name=REDEPLOY_JOB, description="filters.yaml has no active filter: stop the rest.")
        def stop_all() -> None:
            stop_removed()

        return stop_all

    @op(name="filters_yaml_is_broken")
    def refuse(context: OpExecutionContext) -> None:
        raise Failure(description=f"flink_sql/filters.yaml cannot be compiled: {broken}")

    @job(name=REDEPLOY_JOB, description="filters.yaml is broken: this job says why.")
    def redeploy_filters() -> None:
        refuse()

    return redeploy_filters
