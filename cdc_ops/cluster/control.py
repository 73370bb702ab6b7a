"""Stopping and starting the Aurora cluster, safely and on the record.

The controller acts on the cluster, never on its instances; it stops only from `available` and
starts only from `stopped` (anything else is a transition it leaves alone), so repeating an action
is harmless. Every action is recorded with its reason as tags on the cluster. Two power switches:
RDS itself (aws), and the stack's real PostgreSQL process (local), with moto's cluster kept in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from cdc_ops.clock import Clock, utc_now
from cdc_ops.cluster.state import (
    TAG_LAST_ACTION,
    TAG_LAST_ACTION_AT,
    TAG_LAST_ACTION_REASON,
    ClusterState,
    describe_rds_cluster,
)
from cdc_ops.errors import CdcOpsError

if TYPE_CHECKING:
    from cdc_ops.cluster.connector_hold import ConnectorHold
from cdc_ops.states import ABSENT

# RDS tag values allow letters, digits, spaces and _.:/=+-@ only, up to 256 characters.
_TAG_UNSAFE = re.compile(r"[^\w\s.:/=+\-@]")


class ClusterNotFound(CdcOpsError):
    """The configured cluster does not exist."""


@dataclass(frozen=True)
class ActionResult:
    action: str  # "stop" or "start"
    performed: bool
    status_before: str
    outcome: str  # "stopping", "already stopped", "in transition (starting)", ...
    reason: str
    at: datetime
    connector: str = ""  # what was done to the CDC connector with it ("connector stopped")


class PowerSwitch(Protocol):
    name: str

    def view(self, state: ClusterState) -> ClusterState: ...
    def stop(self, state: ClusterState) -> None: ...
    def start(self, state: ClusterState) -> None: ...


class RdsPower:
    name = "rds"

    def __init__(self, rds: Any) -> None:
        self._rds = rds

    def view(self, state: ClusterState) -> ClusterState:
        return state

    def stop(self, state: ClusterState) -> None:
        self._rds.stop_db_cluster(DBClusterIdentifier=state.cluster_id)

    def start(self, state: ClusterState) -> None:
        self._rds.start_db_cluster(DBClusterIdentifier=state.cluster_id)


class ClusterController:
    def __init__(
        self,
        rds: Any,
        cluster_id: str,
        power: PowerSwitch,
        clock: Clock = utc_now,
        hold: ConnectorHold | None = None,
    ) -> None:
        self._rds = rds
        self._cluster_id = cluster_id
        self._power = power
        self._clock = clock
        # stops the CDC connector before the cluster (None: no connector configured)
        self.hold = hold

    def describe(self) -> ClusterState:
        state = describe_rds_cluster(self._rds, self._cluster_id)
        if state.status == ABSENT:
            raise ClusterNotFound(f"cluster {self._cluster_id} does not exist")
        return self._power.view(state)

    def stop(self, reason: str) -> ActionResult:
        return self._act("stop", "available", "stopped", reason)

    def start(self, reason: str) -> ActionResult:
        return self._act("start", "stopped", "available", reason)

    def _act(self, action: str, acts_from: str, goal: str, reason: str) -> ActionResult:
        state = self.describe()
        now = self._clock()
        if state.status == goal:
            return ActionResult(action, False, state.status, f"already {goal}", reason, now)
        if state.status != acts_from:
            outcome = f"in transition ({state.status})"
            return ActionResult(action, False, state.status, outcome, reason, now)
        connector = ""
        if action == "stop" and self.hold is not None:
            connector = self.hold.before_stop(state)
        # recorded before the act: a sensor that looks while the cluster is stopping (or still
        # stopped while it starts) must already see that cdc-ops is doing it, or it pages
        self._record(state, action, reason, now)
        try:
            getattr(self._power, action)(state)
        except Exception as exc:
            # it did not happen: the record says so (a later stop by anyone else then pages)
            self._record(state, f"{action} failed", reason, now)
            if (
                self.hold is not None
                and connector.startswith("connector ")
                and "not" not in connector
            ):
                # the cluster stays up: so does the pipeline
                self.hold.resume(state)
                connector = f"{connector}, then resumed: the cluster's stop did not happen"
            if not isinstance(exc, ClientError):
                raise
            if exc.response["Error"]["Code"] != "InvalidDBClusterStateFault":
                raise
            # it moved between our look and our act: someone else is already on it
            return ActionResult(
                action, False, state.status, "in transition", reason, now, connector
            )
        # what the cluster is doing now, not what was asked: locally the action is complete
        after = self.describe().status
        done, moving = ("stopped", "stopping") if action == "stop" else ("started", "starting")
        outcome = done if after == goal else moving
        return ActionResult(action, True, state.status, outcome, reason, now, connector)

    def record(self, action: str, reason: str) -> None:
        """Record an action taken outside the controller (e.g. the local stack starting)."""
        self._record(self.describe(), action, reason, self._clock())

    def _record(self, state: ClusterState, action: str, reason: str, at: datetime) -> None:
        self._rds.add_tags_to_resource(
            ResourceName=state.arn,
            Tags=[
                {"Key": TAG_LAST_ACTION, "Value": action},
                {"Key": TAG_LAST_ACTION_AT, "Value": at.isoformat(timespec="seconds")},
                {"Key": TAG_LAST_ACTION_REASON, "Value": _TAG_UNSAFE.sub(" ", reason)[:256]},
            ],
        )


# The auto-start function's answers, as the seeds name them.
STARTED = "started"
ALREADY_AVAILABLE = "already available"
STARTING = "starting"
IN_TRANSITION = "in transition"


def auto_start(controller: ClusterController, reason: str) -> dict[str, str]:
    """Start the cluster if it is stopped; otherwise say what it is doing. The auto-start
    Lambda's action (the producer API asks for it when the database does not answer)."""
    result = controller.start(reason)
    if result.performed:
        status = STARTED
    elif result.status_before == "available":
        status = ALREADY_AVAILABLE
    elif result.status_before == "starting":
        status = STARTING
    else:
        status = IN_TRANSITION
    return {"status": status, "cluster_status": result.status_before, "reason": reason}
