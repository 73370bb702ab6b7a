"""Events per second from two observations of Debezium's TotalNumberOfEventsSeen (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cdc_ops.connector.metrics import events_per_second

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_the_rate_between_two_ticks() -> None:
    assert events_per_second(100, T0, 700, T0 + timedelta(seconds=60)) == 10.0
    assert events_per_second(100, T0, 100, T0 + timedelta(seconds=60)) == 0.0


def test_unknown_rather_than_wrong() -> None:
    assert events_per_second(None, None, 700, T0) is None  # the first tick
    assert events_per_second(100, T0, None, T0 + timedelta(seconds=5)) is None  # no metrics
    # the counter went back: the task restarted and counts from 0 again
    assert events_per_second(700, T0, 20, T0 + timedelta(seconds=60)) is None
    assert events_per_second(100, T0, 200, T0) is None
