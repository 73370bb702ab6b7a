"""The auto-stop decision: stop an idle test cluster, and only when every guard passes.

`auto_stop_decision` is pure; the auto-stop Lambda and the Dagster schedule both call it, through
`run_auto_stop`, with the same inputs. Fail safe: whatever cannot be known keeps the cluster up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from cdc_ops.clock import Clock, utc_now
from cdc_ops.cluster.activity import Activity, ApiActivityReader
from cdc_ops.cluster.control import ActionResult, ClusterController
from cdc_ops.cluster.state import ClusterState
from cdc_ops.settings import Settings

if TYPE_CHECKING:
    from cdc_ops.adapters import Adapters

OPT_OUT_VALUES = {"off", "false", "disabled", "no", "never"}
SEVEN_DAYS = timedelta(days=7)


class Action(StrEnum):
    STOP = "stop"
    KEEP_RUNNING = "keep running"
    NOTHING = "nothing to do"


@dataclass(frozen=True)
class Policy:
    environment: str
    environments: tuple[str, ...]
    window: timedelta
    opt_out_tag: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        auto = settings.auto_stop
        return cls(
            environment=settings.names.environment,
            environments=tuple(auto.environments),
            window=timedelta(hours=auto.inactivity_window_h),
            opt_out_tag=auto.opt_out_tag,
        )


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


def _window_text(window: timedelta) -> str:
    hours = window.total_seconds() / 3600
    return f"{hours:g}h" if hours >= 1 else f"{window.total_seconds():g}s"


def auto_stop_decision(
    now: datetime, cluster: ClusterState, activity: Activity, policy: Policy
) -> Decision:
    """Stop only if: auto-stop is on for this environment (never prod), the cluster has not opted
    out, it is available and stoppable, and API activity was read completely and is nil."""
    last = cluster.last_action
    evidence: dict[str, Any] = {
        "environment": policy.environment,
        "cluster_status": cluster.status,
        "window": _window_text(policy.window),
        "activity_start": activity.start.isoformat(),
        "activity_end": activity.end.isoformat(),
        "requests": activity.requests,
        "last_request_period": activity.last_seen.isoformat() if activity.last_seen else None,
        "activity_complete": activity.complete,
        "last_action": f"{last.action} at {last.at.isoformat()}: {last.reason}" if last else None,
    }

    def keep(reason: str) -> Decision:
        return Decision(Action.KEEP_RUNNING, reason, evidence)

    if policy.environment == "prod":
        return keep("auto-stop never acts in prod")
    if policy.environment not in policy.environments:
        enabled = ", ".join(policy.environments) or "none"
        return keep(f"auto-stop is off for environment {policy.environment} (on for: {enabled})")
    opt_out = cluster.tags.get(policy.opt_out_tag)
    if opt_out is not None and opt_out.strip().lower() in OPT_OUT_VALUES:
        return keep(f"the cluster opted out with tag {policy.opt_out_tag}={opt_out}")
    if cluster.status != "available":
        return Decision(
            Action.NOTHING,
            f"the cluster is {cluster.status}; auto-stop acts only on available",
            evidence,
        )
    if cluster.engine_mode == "serverless":
        return keep("Aurora Serverless v1 clusters cannot be stopped")
    if cluster.global_cluster_id:
        return keep(f"member of global database {cluster.global_cluster_id}: cannot be stopped")
    if cluster.blue_green_id:
        return keep(f"part of blue/green deployment {cluster.blue_green_id}: cannot be stopped")
    if activity.error:
        return keep(f"fail safe: API activity could not be read ({activity.error})")
    if not activity.complete:
        return keep("fail safe: CloudWatch returned partial API activity")
    window = _window_text(policy.window)
    if activity.requests > 0:
        return keep(
            f"{activity.requests:g} API request(s) in the last {window}"
            f" (latest in the period from {activity.last_seen.isoformat()})"
        )
    if last and last.action == "start" and now - last.at < policy.window:
        return keep(
            f"started by cdc-ops at {last.at.isoformat()} ({last.reason}), less than {window} ago"
        )
    if last and last.action == "stop":
        stopped_for = now - last.at
        evidence["stopped_by_cdc_ops_at"] = last.at.isoformat()
        why = (
            "AWS restarts a cluster that has been stopped for 7 days"
            if stopped_for >= SEVEN_DAYS
            else "started outside cdc-ops"
        )
        return Decision(
            Action.STOP,
            f"running again without a start from cdc-ops ({why}) and no API request in the"
            f" last {window}: stopping it again",
            evidence,
        )
    return Decision(Action.STOP, f"no API request in the last {window}", evidence)


@dataclass(frozen=True)
class AutoStopRun:
    decision: Decision
    cluster: ClusterState
    result: ActionResult | None


def run_auto_stop(
    controller: ClusterController,
    reader: ApiActivityReader,
    policy: Policy,
    clock: Clock = utc_now,
    *,
    dry_run: bool = False,
) -> AutoStopRun:
    """Read the cluster and its activity, decide, and stop if the decision says so (and this is
    no dry run)."""
    now = clock()
    cluster = controller.describe()
    activity = reader.read(now, policy.window)
    decision = auto_stop_decision(now, cluster, activity, policy)
    stop = decision.action is Action.STOP and not dry_run
    result = controller.stop(f"auto-stop: {decision.reason}") if stop else None
    return AutoStopRun(decision, cluster, result)


def auto_stop(adapters: Adapters, *, dry_run: bool = False) -> AutoStopRun:
    """The auto-stop, once: what the auto-stop Lambda, the Dagster schedule's job and
    `cdc-ops cluster auto-stop` all run."""
    return run_auto_stop(
        adapters.cluster_controller,
        adapters.activity_reader,
        adapters.auto_stop_policy,
        adapters.clock,
        dry_run=dry_run,
    )
