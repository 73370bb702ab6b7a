"""Is each part of the pipeline healthy now? Pure functions of what was read.

Every verdict says what is and what was expected ("cdc-filter-x is ABSENT; expected RUNNING"),
so a failed check or a red row explains itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cdc_ops.alerts.delivery import Alert, Severity
from cdc_ops.cluster.state import ClusterState
from cdc_ops.connector.backends import ConnectorStatus
from cdc_ops.connector.metrics import ConnectorMetrics
from cdc_ops.flink.statements import RUNNING, StatementState
from cdc_ops.kafka.groups import GroupLag
from cdc_ops.kafka.topics import TopicState
from cdc_ops.proxy.saturation import ProxyFigures, saturation_alerts
from cdc_ops.settings import Thresholds
from cdc_ops.slot.health import slot_verdict
from cdc_ops.slot.reading import SlotState
from cdc_ops.states import ABSENT
from cdc_ops.states import ABSENT_PHASE as CONNECTOR_ABSENT

_ONE_LOOK = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Health:
    part: str  # cluster, proxy, slot, connector, topic, statement, consumer group
    name: str
    state: str  # the short word the status table shows
    healthy: bool
    says: str  # what is, and what was expected when that is not it
    figure: str = ""
    # a failure that pages (ERROR); False: one that only warns (lag, a transition cdc-ops began)
    severe: bool = True

    def as_dict(self) -> dict[str, object]:
        return {
            "part": self.part,
            "name": self.name,
            "state": self.state,
            "healthy": self.healthy,
            "figure": self.figure,
            "says": self.says,
        }


def stopped_by_cdc_ops(state: ClusterState) -> bool:
    """The last action recorded on the cluster is a stop by cdc-ops."""
    last = state.last_action
    return last is not None and last.action == "stop"


def stopped_on_purpose(state: ClusterState | None) -> str | None:
    """ "stopped on purpose by cdc-ops at ..., reason ..." while the cluster is stopped (or
    stopping) after a stop cdc-ops recorded; None otherwise, a stop by anyone else included."""
    if state is None or state.status not in ("stopped", "stopping"):
        return None
    if not stopped_by_cdc_ops(state):
        return None
    last = state.last_action
    assert last is not None
    return (
        f"cluster {state.cluster_id} {state.status}: stopped on purpose by cdc-ops at"
        f" {last.at.isoformat(timespec='seconds')}, reason: {last.reason or 'none recorded'}"
    )


# how long after cdc-ops started the cluster the proxy's queue still counts as the stop's
PROXY_START_GRACE_S = 60.0


def proxy_waits_on_purpose(state: ClusterState | None, now: datetime) -> str | None:
    """Why clients waiting at the proxy are the stop's doing, not saturation: the cluster is
    stopped on purpose, or cdc-ops started it less than a minute ago (clients queued while it
    was stopped are still being served)."""
    stopped = stopped_on_purpose(state)
    if stopped is not None:
        return stopped
    if state is None or state.last_action is None or state.last_action.action != "start":
        return None
    at = state.last_action.at
    if (now - at).total_seconds() >= PROXY_START_GRACE_S:
        return None
    return (
        f"cluster {state.cluster_id} was started by cdc-ops at"
        f" {at.isoformat(timespec='seconds')}: clients queued while it was stopped"
    )


def on_purpose(health: Health, why: str | None) -> Health:
    """A part that is down because cdc-ops stopped the cluster on purpose: it is not shown
    healthy (it is not running), but it warns instead of paging, and says why."""
    if health.healthy or why is None:
        return health
    return Health(
        health.part,
        health.name,
        "stopped by cdc-ops",
        False,
        f"{why} ({health.says})",
        health.figure,
        severe=False,
    )


def cluster_health(state: ClusterState) -> Health:
    """Available, or stopped on purpose by cdc-ops (and then it says so)."""
    last = state.last_action
    name, status = state.cluster_id, state.status
    if status == "available":
        return Health("cluster", name, status, True, f"cluster {name} is available", state.endpoint)
    if status in ("stopped", "stopping") and stopped_by_cdc_ops(state):
        assert last is not None
        says = (
            f"cluster {name} is {status}: stopped on purpose by cdc-ops at"
            f" {last.at.isoformat(timespec='seconds')} ({last.reason or 'no reason recorded'})"
        )
        return Health("cluster", name, f"{status} by cdc-ops", True, says, state.endpoint)
    if status == "starting" and last is not None and last.action == "start":
        says = f"cluster {name} is starting (started by cdc-ops); expected available"
        return Health("cluster", name, status, False, says, state.endpoint, severe=False)
    who = (
        f"the last cdc-ops action was {last.action} at {last.at.isoformat(timespec='seconds')}"
        if last
        else "cdc-ops recorded no action"
    )
    says = f"cluster {name} is {status}; expected available, and cdc-ops did not stop it ({who})"
    return Health("cluster", name, status, False, says, state.endpoint)


def proxy_health(figures: Sequence[ProxyFigures], t: Thresholds) -> list[Health]:
    out = []
    for f in figures:
        alerts = saturation_alerts([f], t)
        latency = "n/a" if f.borrow_latency_ms is None else f"{f.borrow_latency_ms:.0f} ms"
        figure = f"borrow wait {latency}"
        if alerts:
            says = "; ".join(a.summary for a in alerts)
            out.append(Health("proxy", f.proxy, "saturated", False, says, figure))
        else:
            pinned = "n/a" if f.pinned is None else f"{f.pinned:g}"
            says = (
                f"{f.proxy}: borrow wait {latency} (warn over {t.borrow_latency_warn_ms:g} ms),"
                f" {pinned} pinned session(s)"
            )
            out.append(Health("proxy", f.proxy, "ok", True, says, figure))
    return out


def slot_health(slot: SlotState, t: Thresholds) -> Health:
    """Present, read by a consumer, and under the retained-WAL and wal_status thresholds."""
    name = slot.name
    if slot.state == "unreachable":
        says = f"slot {name} cannot be read: the database does not answer ({slot.error})"
        return Health("slot", name, "unreachable", False, says, slot.error or "")
    if slot.state == ABSENT:
        says = f"slot {name} is absent; expected present (the CDC connector creates it)"
        return Health("slot", name, ABSENT, False, says)
    figure = f"lag {slot.lag_bytes} B, retained {slot.retained_bytes} B"
    # a one-off look cannot say for how long the slot has been inactive (the sensor remembers
    # that): "inactive" is reported below, the other alerts come from the sensor's verdict
    alerts = slot_verdict(slot, _ONE_LOOK, None, True, t).alerts
    if alerts:
        return Health("slot", name, "alerting", False, "; ".join(a.summary for a in alerts), figure)
    if not slot.active:
        says = f"slot {name} is present but no consumer reads it; expected the connector on it"
        return Health("slot", name, "inactive", False, says, figure, severe=False)
    says = f"slot {name} is active, {figure} (warn over {t.slot_lag_warn_bytes} B retained)"
    return Health("slot", name, "present", True, says, figure)


def connector_health(status: ConnectorStatus) -> Health:
    """RUNNING with every task RUNNING."""
    tasks = ", ".join(f"{t.id}:{t.state}" for t in status.tasks) or "no tasks"
    name = status.name
    if status.healthy:
        says = f"connector {name} and its tasks are RUNNING ({tasks})"
        return Health("connector", name, status.state, True, says, tasks)
    if status.state == CONNECTOR_ABSENT:
        says = f"connector {name} is not configured; expected RUNNING"
    else:
        not_running = [f"task {t.id} is {t.state}" for t in status.tasks if t.state != "RUNNING"]
        detail = ", ".join(not_running) if status.tasks else "it has no tasks"
        says = f"connector {name} is {status.state} ({detail}); expected RUNNING with every task"
    return Health("connector", name, status.state, False, says, tasks)


def connector_lag_health(metrics: ConnectorMetrics, limit_ms: int) -> Health:
    """Debezium's MilliSecondsBehindSource of the last event streamed, under the limit. A source
    that does not publish it is not shown healthy: it says it cannot tell."""
    name = "lag behind source"
    lag = metrics.ms_behind_source
    if lag is None:
        why = metrics.unavailable.get("ms_behind_source") or next(
            iter(metrics.unavailable.values()), "not published"
        )
        says = f"lag behind source is unavailable ({why})"
        return Health("connector", name, "unavailable", False, says, severe=False)
    if lag < 0:
        says = "no change streamed since the connector's task started: no lag to measure"
        return Health("connector", name, "no events", True, says, "n/a")
    figure = f"{lag} ms"
    if lag > limit_ms:
        says = (
            f"the last change streamed was {lag} ms behind the source;"
            f" expected at most {limit_ms} ms"
        )
        return Health("connector", name, "lagging", False, says, figure, severe=False)
    says = f"the last change streamed was {lag} ms behind the source (at most {limit_ms} ms)"
    return Health("connector", name, "ok", True, says, figure)


def topic_health(topic: TopicState, expected_partitions: int) -> Health:
    figure = f"{topic.partitions} partitions, end offsets {topic.total_end_offset}"
    if not topic.exists:
        says = f"topic {topic.name} is missing; expected {expected_partitions} partitions"
        return Health("topic", topic.name, "missing", False, says)
    if topic.partitions != expected_partitions:
        says = (
            f"topic {topic.name} has {topic.partitions} partitions; expected {expected_partitions}"
        )
        return Health("topic", topic.name, "wrong partitions", False, says, figure)
    says = f"topic {topic.name} exists with {topic.partitions} partitions"
    return Health("topic", topic.name, "present", True, says, figure)


# how long a job that failed and recovered (a checkpoint completed since) still warns
RECOVERED_WARN_S = 3600.0


def statement_health(state: StatementState, t: Thresholds | None = None) -> Health:
    """RUNNING, and its job (where its runtime was read) neither failing nor backpressured.

    A job that failed since its last completed checkpoint has not shown it recovered: it fails
    with Flink's exception, even while its tasks run again between restarts (a restart loop).
    One that failed and has checkpointed since warns for an hour after the failure, then is
    healthy again: a restart long ago that the job got over is no finding. Backpressure over
    the threshold warns: the job keeps up with nothing, but it still delivers."""
    t = t or Thresholds()
    rt = state.runtime
    name = state.name
    if state.phase != RUNNING:
        detail = state.detail
        cause = rt.last_exception if rt is not None else None
        if cause and cause not in detail:  # the backend's detail may already carry it
            detail = f"{detail}; Flink: {cause}" if detail else f"Flink: {cause}"
        detail = f" ({detail})" if detail else ""
        says = f"{name} is {state.phase}{detail}; expected RUNNING"
        return Health("statement", name, state.phase, False, says, state.detail)
    figure = _runtime_figure(state)
    if rt is not None and rt.last_exception is not None and rt.last_exception_at is not None:
        at = rt.last_exception_at.isoformat(timespec="seconds")
        restarts = f"{rt.restarts} restart(s)" if rt.restarts is not None else "restarted"
        if rt.failed_since_checkpoint:
            says = (
                f"{name} is RUNNING but its job failed at {at} ({restarts}) and has completed no"
                f" checkpoint since: {rt.last_exception}; expected it to run without failing"
            )
            return Health("statement", name, "failing", False, says, figure)
        if rt.read_at is not None and (rt.read_at - rt.last_exception_at).total_seconds() < (
            RECOVERED_WARN_S
        ):
            says = (
                f"{name} is RUNNING and recovered ({restarts}, a checkpoint completed since) from"
                f" a failure at {at}: {rt.last_exception}"
            )
            return Health("statement", name, "recovered", False, says, figure, severe=False)
    limit = t.statement_backpressure_warn_ratio
    if rt is not None and rt.backpressure_ratio is not None and rt.backpressure_ratio > limit:
        says = (
            f"{name} is RUNNING but backpressured {rt.backpressure_ratio:.0%} of the time"
            f" ({rt.backpressure_level or 'level unknown'}); expected at most {limit:.0%}:"
            " its sink does not keep up"
        )
        return Health("statement", name, "backpressured", False, says, figure, severe=False)
    says = f"{name} is RUNNING ({state.detail})"
    return Health("statement", name, state.phase, True, says, figure or state.detail)


def _runtime_figure(state: StatementState) -> str:
    """The short figure of the status table: records in and out, where known."""
    rt = state.runtime
    if rt is None or (rt.records_in is None and rt.records_out is None):
        return state.detail

    def n(v: int | None) -> str:
        return "n/a" if v is None else str(v)

    return f"{n(rt.records_in)} in, {n(rt.records_out)} out"


def group_health(g: GroupLag, limit: int) -> Health:
    figure = f"lag {g.total}, dead letters {g.dead_letters}"
    if not g.topic_exists:
        says = f"group {g.group}: its topic {g.topic} is missing; expected it to exist"
        return Health("consumer group", g.group, "missing topic", False, says, figure, severe=False)
    if g.total > limit:
        says = f"group {g.group} lags {g.total} messages on {g.topic}; expected at most {limit}"
        return Health("consumer group", g.group, "lagging", False, says, figure, severe=False)
    says = f"group {g.group} lags {g.total} messages on {g.topic} (at most {limit})"
    return Health("consumer group", g.group, "ok", True, says, figure)


def unreadable(part: str, error: str) -> Health:
    """A part that could not be read at all is itself the finding."""
    return Health(part, "-", "error", False, f"{part} could not be read: {error}", error)


def slot_checks(slot: SlotState, t: Thresholds) -> dict[str, Health]:
    """The slot's three checks: present, retained WAL under its thresholds, WAL not lost."""
    name = slot.name
    if slot.state != "present":
        whole = slot_health(slot, t)
        unknown = Health("slot", name, slot.state, False, f"{whole.says}: nothing to measure")
        return {"present": whole, "retained_wal": unknown, "wal_status": unknown}
    present = Health("slot", name, "present", True, f"slot {name} exists ({slot.plugin})")
    retained = slot.retained_bytes or 0
    if retained >= t.slot_lag_warn_bytes:
        critical = retained >= t.slot_lag_critical_bytes
        limit = t.slot_lag_critical_bytes if critical else t.slot_lag_warn_bytes
        says = f"slot {name} retains {retained} B of WAL; expected under {limit} B"
        wal = Health("slot", name, "retaining", False, says, severe=critical)
    else:
        says = f"slot {name} retains {retained} B of WAL (warn at {t.slot_lag_warn_bytes} B)"
        wal = Health("slot", name, "ok", True, says)
    if slot.wal_status in ("unreserved", "lost"):
        says = f"slot {name} has wal_status {slot.wal_status}; expected reserved or extended"
        status = Health("slot", name, slot.wal_status, False, says)
    else:
        says = f"slot {name} has wal_status {slot.wal_status}"
        status = Health("slot", name, slot.wal_status or "n/a", True, says)
    return {"present": present, "retained_wal": wal, "wal_status": status}


def cluster_down_alerts(state: ClusterState, runbook: str = "") -> list[Alert]:
    """A cluster that is not available, unless cdc-ops stopped or started it on purpose."""
    health = cluster_health(state)
    if health.healthy or not health.severe:
        return []
    return [
        Alert(
            "cluster_availability",
            f"cluster/{state.cluster_id}/down",
            Severity.CRITICAL,
            f"Aurora cluster {state.cluster_id} is {state.status} and cdc-ops did not stop it",
            details=health.says + ". The producer API answers 503 and the CDC connector fails"
            " until it is available again.",
            values={"cluster": state.cluster_id, "status": state.status},
            runbook=f"{runbook}#cluster-down" if runbook else "",
        )
    ]


def freshness_health(
    name: str, last_update: datetime | None, now: datetime, max_age_s: float
) -> Health:
    """An observation older than `max_age_s` (twice its interval) is stale: whatever should
    observe it (a schedule, a sensor) is not running."""
    limit = f"{max_age_s / 60:g} minutes"
    if last_update is None:
        says = f"{name} has never been observed; expected within {limit}"
        return Health("freshness", name, "never observed", False, says, severe=False)
    age = (now - last_update).total_seconds()
    at = last_update.isoformat(timespec="seconds")
    if age > max_age_s:
        says = (
            f"{name} was last observed at {at}, {age / 60:.0f} minutes ago; expected within {limit}"
        )
        return Health("freshness", name, "stale", False, says, severe=False)
    return Health("freshness", name, "fresh", True, f"{name} was observed at {at} (within {limit})")
