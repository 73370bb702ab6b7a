"""Freshness of observed assets: stale after twice the interval, fresh again after the next
observation (which Dagster's own freshness sensor never re-evaluates for an observed asset)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from dagster import AssetKey, AssetObservation, DagsterInstance

from cdc_ops.health.verdicts import freshness_health
from sensors.freshness import freshness_tick

KEY = AssetKey("aurora_cluster")
T = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_freshness_verdicts() -> None:
    assert freshness_health("a", T, T + timedelta(minutes=9), 600).healthy
    stale = freshness_health("a", T, T + timedelta(minutes=11), 600)
    assert (stale.healthy, stale.severe, stale.state) == (False, False, "stale")
    assert stale.says == (
        "a was last observed at 2026-12-01T10:00:00+00:00, 11 minutes ago; expected within 10"
        " minutes"
    )
    assert freshness_health("a", None, T, 600).state == "never observed"


def test_a_check_fails_when_stale_and_passes_after_the_next_observation() -> None:
    with DagsterInstance.ephemeral() as instance:
        windows = {KEY: 600.0}
        now = datetime.now(UTC)
        first = freshness_tick(instance, None, windows, now)
        (never,) = first.asset_events
        assert (never.passed, never.check_name) == (False, "freshness_check")

        instance.report_runless_asset_event(AssetObservation(asset_key=KEY))
        fresh = freshness_tick(instance, first.cursor, windows, now + timedelta(seconds=1))
        assert [e.passed for e in fresh.asset_events] == [True]
        # nothing changed: nothing reported
        again = freshness_tick(instance, fresh.cursor, windows, now + timedelta(minutes=5))
        assert again.asset_events == []
        stale = freshness_tick(instance, again.cursor, windows, now + timedelta(minutes=11))
        assert [e.passed for e in stale.asset_events] == [False]
        assert json.loads(stale.cursor) == {"aurora_cluster": "stale"}

        instance.report_runless_asset_event(AssetObservation(asset_key=KEY))
        back = freshness_tick(instance, stale.cursor, windows, datetime.now(UTC))
        assert [e.passed for e in back.asset_events] == [True]
