"""What the slot-lag sensor alerts on (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cdc_ops.alerts.delivery import Severity
from cdc_ops.settings import Thresholds
from cdc_ops.slot.health import slot_verdict
from cdc_ops.slot.reading import SlotState

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
T = Thresholds(
    slot_lag_warn_bytes=1024**3, slot_lag_critical_bytes=10 * 1024**3, slot_inactive_max_s=600
)
GiB = 1024**3


def slot(**kw) -> SlotState:
    base = dict(
        name="s",
        state="present",
        plugin="pgoutput",
        active=True,
        wal_status="reserved",
        lag_bytes=0,
        retained_bytes=1024,
    )
    return SlotState(**(base | kw))


def keys(verdict) -> dict[str, Severity]:
    return {a.key: a.severity for a in verdict.alerts}


def test_a_healthy_slot_raises_nothing() -> None:
    v = slot_verdict(slot(), NOW, None, True, T)
    assert v.alerts == [] and v.inactive_since is None and not v.skipped


def test_retained_wal_warns_at_1_gib_and_is_critical_at_10() -> None:
    assert keys(slot_verdict(slot(retained_bytes=GiB), NOW, None, True, T)) == {
        "slot/s/retained_wal": Severity.WARNING
    }
    (alert,) = slot_verdict(
        slot(retained_bytes=12 * GiB, lag_bytes=11 * GiB), NOW, None, True, T
    ).alerts
    assert alert.severity is Severity.CRITICAL
    assert alert.summary == "replication slot s retains 12.00 GiB of WAL (over 10.00 GiB)"


def test_unreserved_or_lost_wal_is_critical() -> None:
    for status in ("unreserved", "lost"):
        assert keys(slot_verdict(slot(wal_status=status), NOW, None, True, T)) == {
            "slot/s/wal_status": Severity.CRITICAL
        }


def test_inactivity_is_timed_across_ticks() -> None:
    first = slot_verdict(slot(active=False), NOW, None, True, T)
    assert first.alerts == [] and first.inactive_since == NOW
    later = slot_verdict(
        slot(active=False), NOW + timedelta(minutes=10), first.inactive_since, True, T
    )
    assert keys(later) == {"slot/s/inactive": Severity.WARNING}
    back = slot_verdict(
        slot(active=True), NOW + timedelta(minutes=11), later.inactive_since, True, T
    )
    assert back.alerts == [] and back.inactive_since is None


def test_a_missing_slot_matters_only_with_a_connector() -> None:
    absent = SlotState("s", "absent")
    assert keys(slot_verdict(absent, NOW, None, True, T)) == {"slot/s/missing": Severity.CRITICAL}
    assert slot_verdict(absent, NOW, None, False, T).alerts == []


def test_an_unreachable_database_skips_the_tick() -> None:
    since = NOW - timedelta(hours=1)
    v = slot_verdict(SlotState("s", "unreachable", error="refused"), NOW, since, True, T)
    assert v.skipped and v.alerts == [] and v.inactive_since == since
