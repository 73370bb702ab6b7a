"""The CDC connector around a stop of the cluster that cdc-ops makes.

Stopping the database under a running connector makes it fail until the database is back (and
the slot and connector alerts page for an outage cdc-ops caused). So before cdc-ops stops the
cluster it stops the connector (Kafka Connect's STOPPED; a pause on Confluent Cloud) and records
that on the cluster (tags, next to the stop's own record). A pause is not enough on Kafka Connect:
a paused Debezium task keeps its replication connection open without reading it, and PostgreSQL's
shutdown then waits for that walsender (measured locally: past the stack's 30 s stop timeout).
Once the cluster is available again, whoever notices first (the start job, or the
control plane's cluster_availability sensor: in aws the auto-start Lambda cannot reach Connect)
resumes it, records that, and watches the slot become active again within
`connector.resume_timeout_s`, alerting if it does not.

`resume_decision` is the decision (pure); `ConnectorHold` makes the calls and records them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cdc_ops.alerts.delivery import Alert, Severity
from cdc_ops.clock import Clock, utc_now
from cdc_ops.cluster.state import TAG_CONNECTOR_ACTION, TAG_CONNECTOR_ACTION_AT, ClusterState
from cdc_ops.connector.actions import wait_for
from cdc_ops.connector.backends import ConnectorBackend

if TYPE_CHECKING:
    from cdc_ops.adapters import Adapters
    from cdc_ops.slot.reading import SlotState

HELD_FOR_STOP = "stopped"
RESUMED = "resumed"
HOLD_FAILED = "stop failed"
# how long the hold waits for the worker to show the connector stopped (its walsender gone)
HOLD_TIMEOUT_S = 30.0

_TAG_UNSAFE = re.compile(r"[^\w\s.:/=+\-@]")


def held_by_cdc_ops(state: ClusterState | None) -> bool:
    """cdc-ops stopped the connector for a stop of the cluster and has not resumed it yet."""
    action = state.connector_action if state is not None else None
    return action is not None and action.action == HELD_FOR_STOP


def held_on_purpose(state: ClusterState | None) -> str | None:
    """What the connector check says while it waits, stopped by cdc-ops, for the cluster."""
    if not held_by_cdc_ops(state):
        return None
    assert state is not None and state.connector_action is not None
    at = state.connector_action.at.isoformat(timespec="seconds")
    return (
        f"connector stopped on purpose by cdc-ops at {at} before stopping cluster"
        f" {state.cluster_id} (reason: {state.connector_action.reason or 'none recorded'});"
        " it is resumed once the cluster is available"
    )


@dataclass(frozen=True)
class ResumeDecision:
    resume: bool
    resumed_at: datetime | None  # what the sensor remembers: a resume waiting for the slot
    alerts: list[Alert]
    says: str


def resume_decision(
    cluster: ClusterState,
    slot_active: bool | None,
    resumed_at: datetime | None,
    now: datetime,
    timeout_s: float,
    runbook: str = "",
) -> ResumeDecision:
    """Resume a connector cdc-ops stopped once the cluster is available; then the slot must be
    active within `timeout_s` of the resume, or a critical alert says so (pure)."""
    if cluster.status == "available" and held_by_cdc_ops(cluster):
        return ResumeDecision(True, now, [], "cluster available: resuming the connector")
    if resumed_at is None:
        return ResumeDecision(False, None, [], "")
    if slot_active:
        return ResumeDecision(False, None, [], "the slot is active again after the resume")
    waited = (now - resumed_at).total_seconds()
    if waited <= timeout_s:
        says = f"resumed {waited:.0f} s ago; waiting for the slot to be active ({timeout_s:g} s)"
        return ResumeDecision(False, resumed_at, [], says)
    says = (
        f"the connector was resumed at {resumed_at.isoformat(timespec='seconds')} and the"
        f" replication slot is still not active {waited:.0f} s later (limit {timeout_s:g} s)"
    )
    alert = Alert(
        "cluster_availability",
        f"cluster/{cluster.cluster_id}/connector-resume",
        Severity.CRITICAL,
        f"CDC connector not streaming after cdc-ops started cluster {cluster.cluster_id}",
        details=says + ". Changes made since are held in the slot until it is.",
        values={"cluster": cluster.cluster_id, "resumed_at": resumed_at.isoformat()},
        runbook=f"{runbook}#connector-not-resumed" if runbook else "",
    )
    return ResumeDecision(False, resumed_at, [alert], says)


class ConnectorHold:
    """Stop the connector before the cluster, resume it after: the calls, recorded as tags on
    the cluster."""

    def __init__(
        self, connector: Callable[[], ConnectorBackend], rds: Any, clock: Clock = utc_now
    ) -> None:
        # built on first use: reading or acting on the cluster alone never needs the connector
        # (nor its settings, which the auto-start and auto-stop Lambdas may not have)
        self._connector_factory = connector
        self._rds = rds
        self._clock = clock

    @property
    def _connector(self) -> ConnectorBackend:
        return self._connector_factory()

    def before_stop(self, state: ClusterState) -> str:
        """Stop the connector and wait until the worker shows it stopped; a worker that does
        not answer does not keep the cluster up (the stop is what was asked), and the record
        says the connector's stop failed."""
        try:
            self._connector.stop()
            status = wait_for(self._connector, self._connector.stop_state, HOLD_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - any failure to stop is recorded, not raised
            self._record(state, HOLD_FAILED)
            return f"connector not stopped ({type(exc).__name__}: {str(exc)[:200]})"
        self._record(state, HELD_FOR_STOP)
        if status.state != self._connector.stop_state:
            return f"connector asked to stop; still {status.state} after {HOLD_TIMEOUT_S:g} s"
        return f"connector {status.state.lower()}"

    def resume(self, state: ClusterState) -> str:
        self._connector.resume()
        self._record(state, RESUMED)
        return "connector resumed"

    def _record(self, state: ClusterState, action: str) -> None:
        at = self._clock().isoformat(timespec="seconds")
        self._rds.add_tags_to_resource(
            ResourceName=state.arn,
            Tags=[
                {"Key": TAG_CONNECTOR_ACTION, "Value": _TAG_UNSAFE.sub(" ", action)},
                {"Key": TAG_CONNECTOR_ACTION_AT, "Value": at},
            ],
        )


def slot_active_within(
    observe: Callable[[], SlotState],
    timeout_s: float,
    sleep: Callable[[float], None],
    monotonic: Callable[[], float],
) -> tuple[bool, float]:
    """Poll `observe()` (a SlotState) until it is active or the time is up: (active, seconds)."""
    start = monotonic()
    while True:
        slot = observe()
        waited = monotonic() - start
        if slot.active:
            return True, waited
        if waited >= timeout_s:
            return False, waited
        sleep(1.0)


@dataclass(frozen=True)
class Resumed:
    streaming: bool  # the slot was active again within the bound
    waited_s: float
    says: str


def resume_held_connector(
    adapters: Adapters,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Resumed | None:
    """If cdc-ops stopped the connector for a stop and the cluster is available now: resume it
    and wait, at most `connector.resume_timeout_s`, for the slot to be active. None when there
    was nothing to resume."""
    controller = adapters.cluster_controller
    state = controller.describe()
    if controller.hold is None or state.status != "available" or not held_by_cdc_ops(state):
        return None
    from cdc_ops.slot.reading import observe_slot  # psycopg: only where a slot is watched

    controller.hold.resume(state)
    timeout = adapters.settings.connector.resume_timeout_s
    settings = adapters.settings
    active, waited = slot_active_within(lambda: observe_slot(settings), timeout, sleep, monotonic)
    if active:
        return Resumed(True, waited, f"connector resumed; the slot was active after {waited:.1f} s")
    says = f"connector resumed, but the slot was not active within {timeout} s"
    return Resumed(False, waited, says)
