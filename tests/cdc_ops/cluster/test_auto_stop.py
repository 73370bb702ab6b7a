"""auto_stop_decision, guard by guard (pure: no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cdc_ops.cluster.activity import Activity, window_start
from cdc_ops.cluster.auto_stop import Action, Policy, auto_stop_decision
from cdc_ops.cluster.control import ActionResult, auto_start
from cdc_ops.cluster.state import (
    TAG_LAST_ACTION,
    TAG_LAST_ACTION_AT,
    TAG_LAST_ACTION_REASON,
    ClusterState,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=3)
POLICY = Policy("test", ("test",), WINDOW, "cdc-ops:auto-stop")


def cluster(status: str = "available", **kw: object) -> ClusterState:
    return ClusterState("c1", status, engine_mode=kw.pop("engine_mode", "provisioned"), **kw)


def idle() -> Activity:
    return Activity(NOW - WINDOW, NOW, [])


def busy(requests: float = 12) -> Activity:
    return Activity(NOW - WINDOW, NOW, [(NOW - timedelta(minutes=40), requests)])


def tags(action: str, at: datetime, reason: str = "r") -> dict[str, str]:
    return {
        TAG_LAST_ACTION: action,
        TAG_LAST_ACTION_AT: at.isoformat(),
        TAG_LAST_ACTION_REASON: reason,
    }


def test_an_idle_available_test_cluster_is_stopped() -> None:
    d = auto_stop_decision(NOW, cluster(), idle(), POLICY)
    assert (d.action, d.reason) == (Action.STOP, "no API request in the last 3h")
    assert d.evidence["requests"] == 0 and d.evidence["activity_complete"] is True


def test_activity_keeps_it_running() -> None:
    d = auto_stop_decision(NOW, cluster(), busy(), POLICY)
    assert d.action is Action.KEEP_RUNNING
    assert d.reason.startswith("12 API request(s) in the last 3h")
    assert d.evidence["last_request_period"] == (NOW - timedelta(minutes=40)).isoformat()


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        (Policy("prod", ("test", "prod"), WINDOW, "x"), "auto-stop never acts in prod"),
        (
            Policy("dev", ("test",), WINDOW, "x"),
            "auto-stop is off for environment dev (on for: test)",
        ),
    ],
)
def test_environment_guard(policy: Policy, reason: str) -> None:
    d = auto_stop_decision(NOW, cluster(), idle(), policy)
    assert (d.action, d.reason) == (Action.KEEP_RUNNING, reason)


@pytest.mark.parametrize("value", ["off", "FALSE", "disabled", " no "])
def test_opt_out_tag(value: str) -> None:
    d = auto_stop_decision(NOW, cluster(tags={"cdc-ops:auto-stop": value}), idle(), POLICY)
    assert d.action is Action.KEEP_RUNNING and "opted out" in d.reason
    on = auto_stop_decision(NOW, cluster(tags={"cdc-ops:auto-stop": "on"}), idle(), POLICY)
    assert on.action is Action.STOP


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (cluster(engine_mode="serverless"), "Aurora Serverless v1 clusters cannot be stopped"),
        (cluster(global_cluster_id="g1"), "member of global database g1: cannot be stopped"),
        (cluster(blue_green_id="bgd-1"), "part of blue/green deployment bgd-1: cannot be stopped"),
    ],
)
def test_unstoppable_clusters(state: ClusterState, reason: str) -> None:
    assert auto_stop_decision(NOW, state, idle(), POLICY).reason == reason


@pytest.mark.parametrize("status", ["stopped", "stopping", "starting", "modifying"])
def test_acts_only_on_available(status: str) -> None:
    d = auto_stop_decision(NOW, cluster(status), idle(), POLICY)
    assert d.action is Action.NOTHING
    assert d.reason == f"the cluster is {status}; auto-stop acts only on available"


def test_fail_safe_when_activity_cannot_be_read_or_is_partial() -> None:
    unreadable = Activity(NOW - WINDOW, NOW, complete=False, error="EndpointConnectionError: x")
    d = auto_stop_decision(NOW, cluster(), unreadable, POLICY)
    assert d.action is Action.KEEP_RUNNING
    assert d.reason == "fail safe: API activity could not be read (EndpointConnectionError: x)"
    partial = Activity(NOW - WINDOW, NOW, [], complete=False)
    d = auto_stop_decision(NOW, cluster(), partial, POLICY)
    assert d.reason == "fail safe: CloudWatch returned partial API activity"


def test_a_start_by_cdc_ops_gets_the_window_before_it_can_stop() -> None:
    started = cluster(tags=tags("start", NOW - timedelta(hours=1), "manual"))
    d = auto_stop_decision(NOW, started, idle(), POLICY)
    assert d.action is Action.KEEP_RUNNING and "started by cdc-ops" in d.reason
    later = cluster(tags=tags("start", NOW - timedelta(hours=3)))
    assert auto_stop_decision(NOW, later, idle(), POLICY).action is Action.STOP


def test_the_seven_day_restart_is_recognised_and_stopped_again() -> None:
    restarted = cluster(tags=tags("stop", NOW - timedelta(days=7, hours=1)))
    d = auto_stop_decision(NOW, restarted, idle(), POLICY)
    assert d.action is Action.STOP
    assert "AWS restarts a cluster that has been stopped for 7 days" in d.reason
    assert d.evidence["stopped_by_cdc_ops_at"] == (NOW - timedelta(days=7, hours=1)).isoformat()
    console = cluster(tags=tags("stop", NOW - timedelta(days=2)))
    assert "started outside cdc-ops" in auto_stop_decision(NOW, console, idle(), POLICY).reason
    # but activity still wins
    assert auto_stop_decision(NOW, restarted, busy(), POLICY).action is Action.KEEP_RUNNING


def test_window_start_is_moved_back_to_a_period_boundary() -> None:
    end = datetime(2026, 11, 23, 12, 7, 30, tzinfo=UTC)
    assert window_start(end, WINDOW, 300) == datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
    assert window_start(end, timedelta(seconds=3), 1) == end - timedelta(seconds=3)


class FakeController:
    def __init__(self, performed: bool, status_before: str) -> None:
        self.result = ActionResult("start", performed, status_before, "x", "r", NOW)

    def start(self, reason: str) -> ActionResult:
        return self.result


@pytest.mark.parametrize(
    ("performed", "before", "status"),
    [
        (True, "stopped", "started"),
        (False, "available", "already available"),
        (False, "starting", "starting"),
        (False, "stopping", "in transition"),
        (False, "backing-up", "in transition"),
    ],
)
def test_auto_start_answers_with_the_seeds_statuses(performed, before, status) -> None:
    answer = auto_start(FakeController(performed, before), "request")  # type: ignore[arg-type]
    assert answer == {"status": status, "cluster_status": before, "reason": "request"}
