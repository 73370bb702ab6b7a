"""The alert-sensor factory: cursor round trip, hold on unknown, and a bounded delivery."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from cdc_ops.adapters import Adapters
from cdc_ops.alerts.delivery import Alert, Alerter, Notification, Severity, deliver
from cdc_ops.settings import Settings
from sensors.factory import Verdict, run_tick
from sensors.uptime import uptime_due
from tests.helpers import Recorder

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
ALERT = Alert("x", "x/down", Severity.CRITICAL, "x is down")


def verdicts(*outcomes: Verdict):
    queue = list(outcomes)

    def verdict(settings, memory, now):
        v = queue.pop(0)
        v.memory = {**memory, "seen": memory.get("seen", 0) + 1} if not v.memory else v.memory
        return v

    return verdict


def test_fires_once_holds_on_unknown_and_resolves() -> None:
    recorder = Recorder()
    alerter = Alerter(Settings(), [recorder])
    fn = verdicts(Verdict([ALERT]), Verdict([], hold=True), Verdict([ALERT]), Verdict([]))
    cursor = None
    kinds = []
    for minute in range(4):
        tick = run_tick(fn, cursor, Adapters(Settings()), alerter, NOW + timedelta(minutes=minute))
        cursor = tick.cursor
        kinds.append([n.kind for n in tick.notifications])
    # unknown neither repeats nor resolves; the memory carries across every tick
    assert kinds == [["firing"], [], [], ["resolved"]]
    assert json.loads(cursor)["memory"]["seen"] == 4
    assert [b["kind"] for b in recorder.bodies] == ["firing", "resolved"]


class Dead:
    name = "dead"

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.calls = 0

    def send(self, body) -> None:
        self.calls += 1
        self.clock[0] += 5  # each attempt hangs until its 5 s timeout
        raise TimeoutError("timed out")


def test_delivery_stops_at_the_ticks_budget() -> None:
    clock = [0.0]
    dead = Dead(clock)

    def sleep(s: float) -> None:
        clock[0] += s

    notes = [Notification("firing", ALERT, NOW)] * 10
    results = deliver(
        notes,
        [dead],
        str,
        attempts=3,
        backoff_s=1,
        sleep=sleep,
        budget_s=20,
        clock=lambda: clock[0],
    )
    assert clock[0] <= 25  # the budget, and at most one request's timeout past it
    assert dead.calls <= 4
    assert len(results) == 10 and not any(r.delivered for r in results)
    assert results[-1].error == "not attempted: the tick's 20 s budget was spent"


def test_uptime_is_due_when_never_computed_or_not_this_hour() -> None:
    assert uptime_due(None, NOW)
    assert uptime_due(NOW - timedelta(minutes=1), NOW)
    assert not uptime_due(NOW + timedelta(minutes=5), NOW + timedelta(minutes=30))
