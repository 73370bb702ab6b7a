from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cdc_ops.cluster.uptime import uptime

T = datetime(2026, 11, 1, tzinfo=UTC)
H = timedelta(hours=1)


def test_statuses_hold_until_the_next_observation() -> None:
    # a working day: up 9-18 (9 h), stopped the rest, over one day
    samples = [
        (T - H, "stopped"),
        (T + 9 * H, "starting"),
        (T + 9.1 * H, "available"),
        (T + 18 * H, "stopping"),
        (T + 18.1 * H, "stopped"),
    ]
    u = uptime(samples, end=T + 24 * H, window=24 * H)
    assert u.running_h == pytest.approx(9.1)
    assert u.stopped_h == pytest.approx(14.9)
    assert u.unknown_h == pytest.approx(0)
    assert u.stopped_share == pytest.approx(14.9 / 24)
    assert u.saving(0.5) == pytest.approx(7.45)


def test_time_before_the_first_observation_is_unknown() -> None:
    u = uptime([(T + 20 * H, "available")], end=T + 24 * H, window=24 * H)
    assert (u.running_h, u.stopped_h, u.unknown_h) == pytest.approx((4, 0, 20))
    empty = uptime([], end=T, window=24 * H)
    assert empty.stopped_share is None and empty.unknown_h == 24


def test_observations_outside_the_window_only_set_the_starting_status() -> None:
    samples = [(T - 100 * H, "stopped"), (T + 30 * H, "available")]
    u = uptime(samples, end=T + 24 * H, window=24 * H)
    assert (u.running_h, u.stopped_h) == (0, 24)
