"""Jobs that act on the cluster: the auto-stop (run hourly by its schedule) and manual stop/start.

Each records the decision or action with its reason as run metadata and reports the cluster as
it is afterwards (the same observation and `cluster_available` check as every other reader), so
the aurora_cluster asset's timeline is the state history.
"""

from datetime import UTC, datetime

from dagster import Config, Failure, OpExecutionContext, Output, in_process_executor, job, op

from assets.cluster import cluster_events
from assets.resources import CdcOpsResource
from cdc_ops.cluster import auto_stop as auto_stopping
from cdc_ops.cluster.connector_hold import resume_held_connector
from cdc_ops.cluster.control import ActionResult

AUTO_STOP_JOB = "auto_stop_job"


def _result_metadata(result: ActionResult | None) -> dict[str, object]:
    if result is None:
        return {"action_taken": "none"}
    metadata = {
        "action_taken": result.action if result.performed else "none",
        "outcome": result.outcome,
        "status_before": result.status_before,
    }
    if result.connector:
        metadata["connector"] = result.connector
    return metadata


def _report_cluster(context: OpExecutionContext, controller) -> str:
    state = controller.describe()
    for event in cluster_events(state, datetime.now(UTC)):
        context.log_event(event)
    return state.status


@op(description="Decide whether the idle cluster should stop, and stop it if so.")
def auto_stop(context: OpExecutionContext, cdc_ops: CdcOpsResource):
    run = auto_stopping.auto_stop(cdc_ops.adapters)
    decision = run.decision
    context.log.info(f"auto-stop: {decision.action.value}: {decision.reason}")
    status_after = _report_cluster(context, cdc_ops.adapters.cluster_controller)
    metadata = {
        "decision": decision.action.value,
        "reason": decision.reason,
        "evidence": decision.evidence,
        "status_after": status_after,
        **_result_metadata(run.result),
    }
    yield Output(decision.action.value, metadata=metadata)


class ClusterActionConfig(Config):
    reason: str = "requested from the Dagster UI"


def _act(context: OpExecutionContext, cdc_ops: CdcOpsResource, action: str, reason: str):
    controller = cdc_ops.adapters.cluster_controller
    result = getattr(controller, action)(f"manual: {reason}")
    context.log.info(
        f"{action}: {result.outcome}" + (f"; {result.connector}" if result.connector else "")
    )
    status_after = _report_cluster(context, controller)
    metadata = {"reason": reason, "status_after": status_after, **_result_metadata(result)}
    if action == "start":
        # locally the cluster is available at once; on AWS it is starting, and the
        # cluster_availability sensor resumes the connector once it is available
        resumed = resume_held_connector(cdc_ops.adapters)
        if resumed is not None:
            context.log.info(resumed.says)
            metadata["connector"] = resumed.says
            if not resumed.streaming:
                raise Failure(description=resumed.says, metadata=metadata)
    yield Output(result.outcome, metadata=metadata)


@op(description="Stop the cluster (only from available; a no-op if already stopped).")
def stop_cluster_op(
    context: OpExecutionContext, cdc_ops: CdcOpsResource, config: ClusterActionConfig
):
    yield from _act(context, cdc_ops, "stop", config.reason)


@op(description="Start the cluster (only from stopped; a no-op if already available).")
def start_cluster_op(
    context: OpExecutionContext, cdc_ops: CdcOpsResource, config: ClusterActionConfig
):
    yield from _act(context, cdc_ops, "start", config.reason)


@job(
    name=AUTO_STOP_JOB,
    executor_def=in_process_executor,
    description="Stop the Aurora cluster when it has been idle.",
)
def auto_stop_job() -> None:
    auto_stop()


@job(executor_def=in_process_executor, description="Stop the Aurora cluster now, with a reason.")
def stop_cluster() -> None:
    stop_cluster_op()


@job(executor_def=in_process_executor, description="Start the Aurora cluster now, with a reason.")
def start_cluster() -> None:
    start_cluster_op()
