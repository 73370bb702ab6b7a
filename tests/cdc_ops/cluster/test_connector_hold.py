"""Resuming the connector cdc-ops stopped with the cluster (pure): when, and the alert when the
slot is not active again in time. Times are passed in, never slept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cdc_ops.alerts.delivery import Severity
from cdc_ops.cluster.connector_hold import held_on_purpose, resume_decision
from cdc_ops.cluster.state import (
    TAG_CONNECTOR_ACTION,
    TAG_CONNECTOR_ACTION_AT,
    TAG_LAST_ACTION_REASON,
    ClusterState,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def cluster(status: str, connector_action: str | None) -> ClusterState:
    tags = {TAG_LAST_ACTION_REASON: "auto-stop: idle"}
    if connector_action:
        tags |= {TAG_CONNECTOR_ACTION: connector_action, TAG_CONNECTOR_ACTION_AT: T0.isoformat()}
    return ClusterState("c1", status, tags=tags)


def test_resumes_once_the_cluster_is_available_and_only_what_cdc_ops_stopped() -> None:
    assert not resume_decision(cluster("stopped", "stopped"), None, None, T0, 60).resume
    assert not resume_decision(cluster("starting", "stopped"), None, None, T0, 60).resume
    assert not resume_decision(cluster("available", None), None, None, T0, 60).resume
    assert not resume_decision(cluster("available", "resumed"), None, None, T0, 60).resume
    assert not resume_decision(cluster("available", "stop failed"), None, None, T0, 60).resume
    decision = resume_decision(cluster("available", "stopped"), None, None, T0, 60)
    assert (decision.resume, decision.resumed_at, decision.alerts) == (True, T0, [])


def test_the_slot_must_be_active_within_the_bound() -> None:
    back = cluster("available", "resumed")
    waiting = resume_decision(back, False, T0, T0 + timedelta(seconds=60), 60)
    assert (waiting.resumed_at, waiting.alerts) == (T0, [])
    late = resume_decision(back, False, T0, T0 + timedelta(seconds=61), 60, "https://rb")
    assert late.resumed_at == T0
    (alert,) = late.alerts
    assert alert.severity is Severity.CRITICAL
    assert alert.runbook == "https://rb#connector-not-resumed"
    assert "still not active 61 s later (limit 60 s)" in alert.details
    done = resume_decision(back, True, T0, T0 + timedelta(seconds=90), 60)
    assert (done.resumed_at, done.alerts) == (None, [])


def test_held_on_purpose_says_when_and_why() -> None:
    assert held_on_purpose(cluster("available", "resumed")) is None
    says = held_on_purpose(cluster("stopped", "stopped"))
    assert says is not None
    assert "connector stopped on purpose by cdc-ops at 2026-12-01T09:00:00+00:00" in says
    assert "reason: auto-stop: idle" in says
