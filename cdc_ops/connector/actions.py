"""What an operator does to the CDC connector: pause, resume, restart, stop, and reset its source
offsets. The Dagster jobs and the `cdc-ops connector` verbs both run these.

`plan` is the decision (pure): from the action asked for and the connector's state, the worker
calls to make, or why none is needed (repeating an action is harmless), or why it is refused.
`perform` makes those calls and waits, bounded, until the worker shows the state the action
aims at, so the answer says what the connector does now, not what was asked.

Resetting offsets: Kafka Connect forgets a connector's source offsets only while it is STOPPED
(KIP-875), so the action stops it, resets, and resumes it; a connector that does not reach
STOPPED is refused with its state, and nothing is reset.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from cdc_ops.clock import Clock, utc_now
from cdc_ops.connector.backends import ABSENT, RUNNING, ConnectorBackend, ConnectorStatus
from cdc_ops.errors import CdcOpsError

PAUSED, STOPPED = "PAUSED", "STOPPED"


class Verb(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    RESTART = "restart"
    STOP = "stop"
    RESET_OFFSETS = "reset-offsets"


class ActionRefused(CdcOpsError):
    """The connector is in no state to take the action; nothing was done."""


@dataclass(frozen=True)
class Plan:
    calls: tuple[str, ...]  # backend calls in order: pause, resume, stop, restart, reset_offsets
    goal: str | None  # the state to wait for after the calls (None: do not wait)
    outcome: str  # what the answer says when nothing needs doing; otherwise filled in after
    refused: str = ""


def plan(
    verb: Verb,
    status: ConnectorStatus,
    failed_only: bool = False,
    stop_state: str = STOPPED,
    reset_needs_stop: bool = True,
) -> Plan:
    """Which calls take the connector from `status` to what `verb` asks (pure). `stop_state` and
    `reset_needs_stop` are the backend's: Confluent Cloud stops by pausing, and its offsets
    request stops the connector itself."""
    state = status.state
    if state == ABSENT:
        return Plan((), None, "", refused=f"connector {status.name} is not configured")
    if verb is Verb.PAUSE:
        if state == PAUSED:
            return Plan((), None, "already PAUSED")
        if state == STOPPED:
            return Plan((), None, "", refused="the connector is STOPPED: resume it first")
        return Plan(("pause",), PAUSED, "")
    if verb is Verb.RESUME:
        if status.healthy:
            return Plan((), None, "already RUNNING")
        return Plan(("resume",), RUNNING, "")
    if verb is Verb.STOP:
        if state == stop_state:
            return Plan((), None, f"already {stop_state}")
        return Plan(("stop",), stop_state, "")
    if verb is Verb.RESTART:
        if failed_only and status.healthy:
            return Plan((), None, "nothing failed: connector and tasks RUNNING")
        if state in (PAUSED, STOPPED):
            return Plan((), None, "", refused=f"the connector is {state}: resume it instead")
        return Plan(("restart",), RUNNING, "")
    if not reset_needs_stop:
        return Plan(("reset_offsets",), None, "")
    # reset offsets: only while STOPPED, then back to running
    calls = ("reset_offsets", "resume") if state == STOPPED else ("stop", "reset_offsets", "resume")
    return Plan(calls, RUNNING, "")


@dataclass(frozen=True)
class ActionResult:
    verb: str
    performed: bool
    reason: str
    state_before: str
    state_after: str
    outcome: str
    at: datetime
    offsets_before: list[dict[str, Any]] = field(default_factory=list)
    offsets_after: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.verb,
            "performed": self.performed,
            "reason": self.reason,
            "state_before": self.state_before,
            "state_after": self.state_after,
            "outcome": self.outcome,
            "at": self.at.isoformat(timespec="seconds"),
            "offsets_before": self.offsets_before,
            "offsets_after": self.offsets_after,
        }


def _reached(status: ConnectorStatus, goal: str) -> bool:
    # RUNNING means the tasks too; PAUSED and STOPPED are the connector's own state
    return status.healthy if goal == RUNNING else status.state == goal


def _poll(
    backend: ConnectorBackend,
    done: Callable[[ConnectorStatus], bool],
    timeout_s: float,
    every_s: float,
    sleep: Callable[[float], None],
    monotonic: Callable[[], float],
) -> ConnectorStatus:
    """Read the status until `done` says so or the time is up; the last status either way."""
    deadline = monotonic() + timeout_s
    status = backend.status()
    while not done(status) and monotonic() < deadline:
        sleep(every_s)
        status = backend.status()
    return status


def wait_for(
    backend: ConnectorBackend,
    goal: str,
    timeout_s: float,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> ConnectorStatus:
    """Poll until the status shows `goal` or the time is up."""
    return _poll(backend, lambda s: _reached(s, goal), timeout_s, 0.5, sleep, monotonic)


RESTART_SEEN_S = 10.0


def wait_for_change(
    backend: ConnectorBackend,
    timeout_s: float,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> ConnectorStatus:
    """Poll until the connector is no longer healthy (a restart under way) or the time is up."""
    return _poll(backend, lambda s: not s.healthy, timeout_s, 0.2, sleep, monotonic)


def perform(
    backend: ConnectorBackend,
    verb: Verb,
    reason: str,
    *,
    failed_only: bool = False,
    timeout_s: float = 60.0,
    clock: Clock = utc_now,
    sleep: Callable[[float], None] = time.sleep,
) -> ActionResult:
    """Run the action: refuse (ActionRefused) before any call if the plan says so."""
    before = backend.status()
    chosen = plan(verb, before, failed_only, backend.stop_state, backend.reset_needs_stop)
    at = clock()
    if chosen.refused:
        raise ActionRefused(f"cannot {verb.value} connector {before.name}: {chosen.refused}")
    keeps_offsets = verb is Verb.RESET_OFFSETS
    offsets_before = backend.offsets() if keeps_offsets else []
    if not chosen.calls:
        return ActionResult(
            verb.value, False, reason, before.state, before.state, chosen.outcome, at
        )
    after = before
    for call in chosen.calls:
        if call == "stop":
            backend.stop()
            if verb is Verb.RESET_OFFSETS:
                after = wait_for(backend, STOPPED, timeout_s, sleep)
                if after.state != STOPPED:
                    raise ActionRefused(
                        f"cannot reset the offsets of connector {before.name}: it did not stop"
                        f" within {timeout_s:g} s (it is {after.state}); nothing was reset"
                    )
        elif call == "restart":
            backend.restart(include_tasks=True, only_failed=failed_only)
            # the worker restarts asynchronously: right after the 202 its status can still be
            # the RUNNING of before; wait (briefly) to see the restart begin
            wait_for_change(backend, min(RESTART_SEEN_S, timeout_s), sleep)
        else:
            getattr(backend, call)()
    if chosen.goal is not None:
        after = wait_for(backend, chosen.goal, timeout_s, sleep)
    outcome = (
        f"{after.state}"
        if _reached(after, chosen.goal or after.state)
        else f"asked; the connector is {after.state} after {timeout_s:g} s (expected {chosen.goal})"
    )
    return ActionResult(
        verb.value,
        True,
        reason,
        before.state,
        after.state,
        outcome,
        at,
        offsets_before,
        backend.offsets() if keeps_offsets else [],
    )
