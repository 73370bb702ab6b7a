"""Jobs that act on the cluster: the auto-stop (run hourly by its schedule) and manual stop/start.

Each records the decision or action as run metadata and adds an observation of the cluster, so
the aurora_cluster asset carries the state history.
"""

from dagster import Config, OpExecutionContext, Output, job, op

from assets.cluster import cluster_observation
from assets.resources import CdcOpsResource
from cdc_ops.auto_stop import Policy, activity_reader, run_auto_stop
from cdc_ops.cluster_control import ActionResult, cluster_controller

AUTO_STOP_JOB = "auto_stop_job"


def _result_metadata(result: ActionResult | None) -> dict[str, object]:
    if result is None:
        return {"action_taken": "none"}
    return {
        "action_taken": result.action if result.performed else "none",
        "outcome": result.outcome,
        "status_before": result.status_before,
    }


@op(description="Decide whether the idle cluster should stop, and stop it if so.")
def auto_stop(context: OpExecutionContext, cdc_ops: CdcOpsResource):
    settings = cdc_ops.settings()
    controller = cluster_controller(settings)
    run = run_auto_stop(controller, activity_reader(settings), Policy.from_settings(settings))
    decision = run.decision
    context.log.info(f"auto-stop: {decision.action.value}: {decision.reason}")
    metadata = {
        "decision": decision.action.value,
        "reason": decision.reason,
        "evidence": decision.evidence,
        **_result_metadata(run.result),
    }
    yield cluster_observation(controller.describe(), auto_stop_decision=decision.action.value,
                              auto_stop_reason=decision.reason)  # fmt: skip
    yield Output(decision.action.value, metadata=metadata)


class ClusterActionConfig(Config):
    reason: str = "requested from the Dagster UI"


def _act(context: OpExecutionContext, cdc_ops: CdcOpsResource, action: str, reason: str):
    controller = cluster_controller(cdc_ops.settings())
    result = getattr(controller, action)(f"manual: {reason}")
    context.log.info(f"{action}: {result.outcome}")
    yield cluster_observation(controller.describe(), action=action, action_outcome=result.outcome)
    yield Output(result.outcome, metadata={"reason": reason, **_result_metadata(result)})


@op(description="Stop the cluster (only from available; a no-op if already stopped).")
def stop_cluster_op(context: OpExecutionContext, cdc_ops: CdcOpsResource,
                    config: ClusterActionConfig):  # fmt: skip
    yield from _act(context, cdc_ops, "stop", config.reason)


@op(description="Start the cluster (only from stopped; a no-op if already available).")
def start_cluster_op(context: OpExecutionContext, cdc_ops: CdcOpsResource,
                     config: ClusterActionConfig):  # fmt: skip
    yield from _act(context, cdc_ops, "start", config.reason)


@job(name=AUTO_STOP_JOB, description="Stop the Aurora cluster when it has been idle.")
def auto_stop_job() -> None:
    auto_stop()


@job(description="Stop the Aurora cluster now.")
def stop_cluster() -> None:
    stop_cluster_op()


@job(description="Start the Aurora cluster now.")
def start_cluster() -> None:
    start_cluster_op()
