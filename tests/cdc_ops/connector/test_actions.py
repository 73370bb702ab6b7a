"""The operator actions' decision (pure): which worker calls take the connector where the action
asks, what is already done, and what is refused before anything is called."""

from __future__ import annotations

import pytest

from cdc_ops.connector.actions import Verb, plan
from cdc_ops.connector.backends import ConnectorStatus, TaskStatus


def status(state: str, *tasks: str) -> ConnectorStatus:
    return ConnectorStatus("cdc", state, [TaskStatus(i, t) for i, t in enumerate(tasks)])


RUNNING = status("RUNNING", "RUNNING")
TASK_FAILED = status("RUNNING", "FAILED")
PAUSED = status("PAUSED", "PAUSED")
STOPPED = status("STOPPED")
ABSENT = status("ABSENT")


@pytest.mark.parametrize(
    ("verb", "before", "calls", "goal", "outcome"),
    [
        (Verb.PAUSE, RUNNING, ("pause",), "PAUSED", ""),
        (Verb.PAUSE, PAUSED, (), None, "already PAUSED"),
        (Verb.RESUME, PAUSED, ("resume",), "RUNNING", ""),
        (Verb.RESUME, STOPPED, ("resume",), "RUNNING", ""),
        (Verb.RESUME, RUNNING, (), None, "already RUNNING"),
        (Verb.STOP, RUNNING, ("stop",), "STOPPED", ""),
        (Verb.STOP, STOPPED, (), None, "already STOPPED"),
        (Verb.RESTART, TASK_FAILED, ("restart",), "RUNNING", ""),
        (Verb.RESTART, RUNNING, ("restart",), "RUNNING", ""),
        (Verb.RESET_OFFSETS, RUNNING, ("stop", "reset_offsets", "resume"), "RUNNING", ""),
        (Verb.RESET_OFFSETS, PAUSED, ("stop", "reset_offsets", "resume"), "RUNNING", ""),
        (Verb.RESET_OFFSETS, STOPPED, ("reset_offsets", "resume"), "RUNNING", ""),
    ],
)
def test_plan(verb, before, calls, goal, outcome) -> None:
    chosen = plan(verb, before)
    assert (chosen.calls, chosen.goal, chosen.outcome, chosen.refused) == (calls, goal, outcome, "")


def test_restart_failed_only_leaves_a_healthy_connector_alone() -> None:
    assert plan(Verb.RESTART, RUNNING, failed_only=True).calls == ()
    assert plan(Verb.RESTART, TASK_FAILED, failed_only=True).calls == ("restart",)


@pytest.mark.parametrize(
    ("verb", "before", "why"),
    [
        (Verb.PAUSE, ABSENT, "connector cdc is not configured"),
        (Verb.RESET_OFFSETS, ABSENT, "connector cdc is not configured"),
        (Verb.PAUSE, STOPPED, "the connector is STOPPED: resume it first"),
        (Verb.RESTART, PAUSED, "the connector is PAUSED: resume it instead"),
    ],
)
def test_refused_before_any_call(verb, before, why) -> None:
    chosen = plan(verb, before)
    assert (chosen.calls, chosen.refused) == ((), why)


def test_on_confluent_cloud_stop_is_a_pause_and_reset_needs_no_stop() -> None:
    cloud = {"stop_state": "PAUSED", "reset_needs_stop": False}
    stop = plan(Verb.STOP, RUNNING, **cloud)
    assert (stop.calls, stop.goal) == (("stop",), "PAUSED")  # the backend's stop pauses
    assert plan(Verb.STOP, PAUSED, **cloud).outcome == "already PAUSED"
    assert plan(Verb.RESET_OFFSETS, RUNNING, **cloud).calls == ("reset_offsets",)
