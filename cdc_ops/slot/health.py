"""Replication slot health: what the slot-lag sensor alerts on (pure).

A slot holds WAL until its consumer confirms it; a stalled or vanished connector makes the
database's disk fill. Alerts: retained WAL over warn/critical, `wal_status` unreserved or lost
(the slot is about to lose or has lost WAL it needs), a slot inactive for too long, and no slot
at all while a connector is configured. A database that does not answer says nothing about the
slot (it may be stopped on purpose): that tick is skipped, not resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cdc_ops.alerts.delivery import Alert, Severity
from cdc_ops.settings import Thresholds
from cdc_ops.slot.reading import SlotState
from cdc_ops.states import ABSENT

GiB = 1024**3


def _size(n: float) -> str:
    return f"{n / GiB:.2f} GiB" if n >= GiB / 10 else f"{n / 1024**2:.1f} MiB"


@dataclass(frozen=True)
class SlotVerdict:
    alerts: list[Alert]
    inactive_since: datetime | None
    skipped: bool = False


def slot_verdict(
    slot: SlotState,
    now: datetime,
    inactive_since: datetime | None,
    connector_configured: bool,
    t: Thresholds,
    runbook: str = "",
) -> SlotVerdict:
    if slot.state == "unreachable":
        return SlotVerdict([], inactive_since, skipped=True)
    key = f"slot/{slot.name}"
    link = lambda anchor: f"{runbook}#{anchor}" if runbook else ""  # noqa: E731
    values = {
        "slot": slot.name,
        "state": slot.state,
        "active": slot.active,
        "wal_status": slot.wal_status,
        "retained_bytes": slot.retained_bytes,
        "lag_bytes": slot.lag_bytes,
        "safe_wal_size": slot.safe_wal_size,
    }
    if slot.state == ABSENT:
        alerts = []
        if connector_configured:
            alerts.append(
                Alert(
                    "slot_lag",
                    f"{key}/missing",
                    Severity.CRITICAL,
                    f"replication slot {slot.name} is missing while the CDC connector is"
                    " configured",
                    details="Changes made now are not captured until the connector recreates"
                    " the slot (it may need a new snapshot).",
                    values=values,
                    runbook=link("slot-missing"),
                )
            )
        return SlotVerdict(alerts, None)

    alerts = []
    retained = slot.retained_bytes or 0
    if retained >= t.slot_lag_warn_bytes:
        critical = retained >= t.slot_lag_critical_bytes
        limit = t.slot_lag_critical_bytes if critical else t.slot_lag_warn_bytes
        alerts.append(
            Alert(
                "slot_lag",
                f"{key}/retained_wal",
                Severity.CRITICAL if critical else Severity.WARNING,
                f"replication slot {slot.name} retains {_size(retained)} of WAL"
                f" (over {_size(limit)})",
                details=f"Unconfirmed by the consumer: {_size(slot.lag_bytes or 0)}. The database's"
                " disk fills while the connector does not advance the slot.",
                values=values,
                runbook=link("slot-retained-wal"),
            )
        )
    if slot.wal_status in ("unreserved", "lost"):
        alerts.append(
            Alert(
                "slot_lag",
                f"{key}/wal_status",
                Severity.CRITICAL,
                f"replication slot {slot.name} has wal_status={slot.wal_status}",
                details="unreserved: WAL the slot needs is about to be removed"
                " (max_slot_wal_keep_size); lost: it is gone and the connector needs a new"
                " snapshot.",
                values=values,
                runbook=link("slot-wal-status"),
            )
        )
    since = None if slot.active else (inactive_since or now)
    if since is not None and now - since >= timedelta(seconds=t.slot_inactive_max_s):
        alerts.append(
            Alert(
                "slot_lag",
                f"{key}/inactive",
                Severity.WARNING,
                f"replication slot {slot.name} has had no consumer since"
                f" {since.isoformat(timespec='seconds')}",
                details="No connector is reading the slot: check the connector's state.",
                values=values,
                runbook=link("slot-inactive"),
            )
        )
    return SlotVerdict(alerts, since)
