"""Operator actions on the CDC connector as Dagster jobs: pause, resume, restart, stop, show and
reset its offsets. Each takes a reason, which is recorded with the action on the cdc_connector
asset (an observation with the connector as it is afterwards, and its checks), so the asset's
timeline is the history of what was done to the connector and why."""

from datetime import UTC, datetime

from dagster import (
    Config,
    Failure,
    MetadataValue,
    OpExecutionContext,
    Output,
    in_process_executor,
    job,
    op,
)

from assets.connector import connector_events, look
from assets.resources import CdcOpsResource
from cdc_ops.connector.actions import ActionRefused, ActionResult, Verb, perform
from cdc_ops.connector.config import CAPTURED_TABLES
from cdc_ops.connector.resnapshot import run_snapshot
from cdc_ops.errors import CdcOpsError


class ConnectorActionConfig(Config):
    reason: str = "requested from the Dagster UI"


class RestartConfig(ConnectorActionConfig):
    # restart only the failed tasks (and the connector if it failed), as the health sensor does
    failed_only: bool = False


def _record(context: OpExecutionContext, cdc_ops: CdcOpsResource, result: ActionResult) -> None:
    view = look(cdc_ops.adapters)
    limit = cdc_ops.settings.thresholds.connector_lag_warn_ms
    recorded = {
        "last_action": result.verb,
        "last_action_reason": result.reason,
        "last_action_outcome": result.outcome,
        "last_action_at": MetadataValue.timestamp(result.at),
        "last_action_run": MetadataValue.dagster_run(context.run.run_id),
    }
    for event in connector_events(view, datetime.now(UTC), lag_limit_ms=limit, **recorded):
        context.log_event(event)


def _act(
    context: OpExecutionContext,
    cdc_ops: CdcOpsResource,
    verb: Verb,
    reason: str,
    failed_only: bool = False,
):
    backend = cdc_ops.adapters.connector_backend
    try:
        result = perform(backend, verb, reason, failed_only=failed_only)
    except ActionRefused as exc:
        context.log.error(str(exc))
        raise Failure(description=str(exc), metadata={"reason": reason}) from exc
    context.log.info(f"connector {verb.value}: {result.outcome} (reason: {reason})")
    _record(context, cdc_ops, result)
    metadata = {
        "reason": reason,
        "performed": MetadataValue.bool(result.performed),
        "state_before": result.state_before,
        "state_after": result.state_after,
        "outcome": result.outcome,
    }
    if verb is Verb.RESET_OFFSETS:
        metadata["offsets_before"] = MetadataValue.json(result.offsets_before)
        metadata["offsets_after"] = MetadataValue.json(result.offsets_after)
    yield Output(result.outcome, metadata=metadata)


def _action_op(name: str, verb: Verb, description: str):
    @op(name=name, description=description)
    def _action(
        context: OpExecutionContext, cdc_ops: CdcOpsResource, config: ConnectorActionConfig
    ):
        yield from _act(context, cdc_ops, verb, config.reason)

    return _action


pause_connector_op = _action_op(
    "pause_connector_op",
    Verb.PAUSE,
    "Pause the connector: its tasks stop polling the slot, which keeps the WAL.",
)
resume_connector_op = _action_op(
    "resume_connector_op", Verb.RESUME, "Resume a paused or stopped connector."
)
stop_connector_op = _action_op(
    "stop_connector_op",
    Verb.STOP,
    "Stop the connector: its tasks are shut down (offsets can then be reset).",
)
reset_connector_offsets_op = _action_op(
    "reset_connector_offsets_op",
    Verb.RESET_OFFSETS,
    "Stop the connector, forget its source offsets, and resume it.",
)


@op(description="Restart the connector and its tasks (or only the failed ones).")
def restart_connector_op(
    context: OpExecutionContext, cdc_ops: CdcOpsResource, config: RestartConfig
):
    yield from _act(context, cdc_ops, Verb.RESTART, config.reason, config.failed_only)


class SnapshotConfig(ConnectorActionConfig):
    # schema.table names the connector captures
    tables: list[str] = list(CAPTURED_TABLES)
    # how long the run follows the snapshot before it fails (the snapshot itself goes on)
    timeout_s: int = 900


@op(
    description="Ask Debezium for an incremental snapshot through its signal table while "
    "streaming goes on, and follow it until it completes."
)
def snapshot_connector_op(
    context: OpExecutionContext, cdc_ops: CdcOpsResource, config: SnapshotConfig
):
    adapters = cdc_ops.adapters
    try:
        run = run_snapshot(
            adapters.settings,
            adapters.connector_metrics,
            config.tables,
            timeout_s=config.timeout_s,
            on_progress=lambda p: context.log.info(p.says),
        )
    except CdcOpsError as exc:
        raise Failure(description=str(exc), metadata={"reason": config.reason}) from exc
    recorded = {
        "last_action": "snapshot",
        "last_action_reason": config.reason,
        "last_action_outcome": run.says,
        "last_action_run": MetadataValue.dagster_run(context.run.run_id),
        "snapshot_signal_id": run.signal_id,
        "snapshot_tables": ", ".join(run.tables),
    }
    view = look(adapters)
    limit = adapters.settings.thresholds.connector_lag_warn_ms
    for event in connector_events(view, datetime.now(UTC), lag_limit_ms=limit, **recorded):
        context.log_event(event)
    metadata = {
        "reason": config.reason,
        "signal_id": run.signal_id,
        "tables": ", ".join(run.tables),
        "waited_s": MetadataValue.float(round(run.waited_s, 1)),
        "outcome": run.says,
    }
    if not run.done:
        raise Failure(description=run.says, metadata=metadata)
    yield Output(run.says, metadata=metadata)


@op(description="Show the connector's source offsets (the LSNs it has sent).")
def show_connector_offsets_op(context: OpExecutionContext, cdc_ops: CdcOpsResource):
    offsets = cdc_ops.adapters.connector_backend.offsets()
    context.log.info(f"connector offsets: {offsets}")
    yield Output(offsets, metadata={"offsets": MetadataValue.json(offsets)})


def _job(name: str, the_op, description: str):
    def body() -> None:
        the_op()

    body.__name__ = name
    return job(name=name, executor_def=in_process_executor, description=description)(body)


pause_connector = _job(
    "pause_connector", pause_connector_op, "Pause the CDC connector, with a reason."
)
resume_connector = _job(
    "resume_connector", resume_connector_op, "Resume the CDC connector, with a reason."
)
restart_connector = _job(
    "restart_connector",
    restart_connector_op,
    "Restart the CDC connector and its tasks, with a reason.",
)
stop_connector = _job("stop_connector", stop_connector_op, "Stop the CDC connector, with a reason.")
reset_connector_offsets = _job(
    "reset_connector_offsets",
    reset_connector_offsets_op,
    "Stop the CDC connector, reset its source offsets and resume it (it then snapshots "
    "again as connector.snapshot_mode says), with a reason.",
)
show_connector_offsets = _job(
    "show_connector_offsets", show_connector_offsets_op, "Show the CDC connector's source offsets."
)
snapshot_connector = _job(
    "snapshot_connector",
    snapshot_connector_op,
    "Re-snapshot business_events (or the chosen tables) incrementally while streaming goes "
    "on: each row is sent again as a read (__op r), with a reason.",
)

CONNECTOR_JOBS = [
    snapshot_connector,
    pause_connector,
    resume_connector,
    restart_connector,
    stop_connector,
    reset_connector_offsets,
    show_connector_offsets,
]
