"""Connector health: restart what failed, with back-off, and call for help when that does not
work (pure).

Connectors leave failed tasks FAILED; the n-th restart in a row waits n*n+n minutes after the
previous one (0, 2, 6, 12, 20, ... capped), and after `max_restarts` the sensor stops trying and
raises a critical alert. A healthy connector resets the count and resolves the alert. While
cdc-ops has stopped the cluster on purpose nothing is restarted and nothing pages: the connector
cannot run without its database, and the count is kept for when the cluster is back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from cdc_ops.alerts.delivery import Alert, Severity
from cdc_ops.connector.backends import ABSENT, ConnectorStatus

DETAILS_LIMIT = 2000


@dataclass(frozen=True)
class HealthMemory:
    restarts: int = 0
    last_restart_at: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class HealthDecision:
    restart: bool
    reason: str
    memory: HealthMemory
    alerts: list[Alert]


def backoff(restarts_so_far: int, cap_s: int) -> timedelta:
    n = restarts_so_far
    return min(timedelta(minutes=n * n + n), timedelta(seconds=cap_s))


def root_causes(trace: str) -> str:
    """A Java trace's first line and its "Caused by:" lines: Debezium's first line is only "An
    exception occurred in the change event producer", the reason sits in the causes below the
    frames (FATAL: must be superuser or replication role to start walsender)."""
    lines = [line.strip() for line in trace.splitlines() if line.strip()]
    if not lines:
        return ""
    causes = [line for line in lines[1:] if line.startswith("Caused by:")]
    return "\n".join([lines[0], *causes])[:DETAILS_LIMIT]


def connector_health(
    status: ConnectorStatus,
    memory: HealthMemory,
    now: datetime,
    max_restarts: int,
    cap_s: int,
    runbook: str = "",
    stopped_on_purpose: str | None = None,
) -> HealthDecision:
    """`stopped_on_purpose`: why cdc-ops stopped the cluster, while it is stopped (see
    cdc_ops.health.verdicts.stopped_on_purpose); None when it was not."""
    key = f"connector/{status.name}/failed"
    failed = [f"task {t.id}: {t.state}" for t in status.tasks if t.state != "RUNNING"]
    what = f"connector {status.state}" + (f", {', '.join(failed)}" if failed else "")
    if stopped_on_purpose is not None:
        # a restart would only fail again against a stopped database, and a RUNNING read proves
        # little (Debezium retries inside a RUNNING task): no alert, so standing ones resolve,
        # and the count kept as it was
        return HealthDecision(False, f"{what}; no restart: {stopped_on_purpose}", memory, [])
    if status.healthy:
        return HealthDecision(False, "connector and all tasks RUNNING", HealthMemory(), [])
    if status.state == ABSENT:
        return HealthDecision(False, "connector is not configured", memory, [])
    if status.state in ("PAUSED", "STOPPED"):
        return HealthDecision(False, f"connector is {status.state} on purpose", memory, [])
    if status.state == "PROVISIONING":
        # Confluent Cloud is still creating it: a restart would only start that over
        return HealthDecision(False, "connector is being provisioned", memory, [])
    trace = status.trace or next((t.trace for t in status.failed_tasks if t.trace), "")
    if memory.restarts >= max_restarts:
        alert = Alert(
            "connector_health",
            key,
            Severity.CRITICAL,
            f"CDC connector {status.name} still failing after {memory.restarts} restarts ({what})",
            details=root_causes(trace),
            values={"state": status.state, "restarts": memory.restarts},
            runbook=f"{runbook}#connector-failed" if runbook else "",
        )
        return HealthDecision(False, f"gave up after {memory.restarts} restarts", memory, [alert])
    wait = backoff(memory.restarts, cap_s)
    last = datetime.fromisoformat(memory.last_restart_at) if memory.last_restart_at else None
    if last is not None and now - last < wait:
        return HealthDecision(
            False, f"{what}; next restart after {last + wait:%H:%M:%S}", memory, []
        )
    return HealthDecision(
        True,
        f"{what}; restart {memory.restarts + 1} of {max_restarts}",
        HealthMemory(memory.restarts + 1, now.isoformat()),
        [],
    )
