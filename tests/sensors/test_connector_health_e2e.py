"""The connector_health sensor against the real worker: the connector's role loses its
REPLICATION right and its walsender is terminated, so Debezium's task really fails; the sensor's
ticks (on an injected clock) restart it through Connect's REST API, give up with a critical alert,
and resolve once it streams again.

What Debezium 3.6.1 does with it: the killed walsender is a PSQLException, which its error
handler counts as retriable; it restarts itself inside the task after
retriable.restart.connector.wait.ms (10 s) and fails again ("must be superuser or replication role
to start walsender"). With errors.max.retries at its default (-1, unlimited) that goes on for ever
while Connect reports the task RUNNING (only the slot shows it: inactive). So the rendered
configuration bounds it (connector.errors_max_retries, 3: about 30 s of Debezium's own retries);
these tests apply 1 to be quicker: one retry of its own, then the task is FAILED, which is what the
sensor acts on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from psycopg import sql

from cdc_ops.adapters import Adapters
from cdc_ops.alerts.delivery import Alerter, LogDestination, Severity
from cdc_ops.connector.backends import ConnectorBackend, ConnectorStatus
from cdc_ops.connector.config import render
from cdc_ops.settings import Settings, load_settings
from cdc_ops.slot.reading import observe_slot
from cdc_ops.tools.stack import Stack
from sensors.connector_health import connector_health_verdict
from sensors.factory import Tick, run_tick
from tests.helpers import Recorder

pytestmark = pytest.mark.e2e

# Debezium's own retries of a connection error, bounded, so a lasting one surfaces as FAILED
SURFACE_FAILURES = {"errors.max.retries": "1"}
WAIT_S = 90


def wait_for(what: str, condition: Callable[[], object], timeout_s: float = WAIT_S) -> float:
    """Poll the real state until `condition` holds; the seconds it took."""
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < timeout_s, f"{what}: not within {timeout_s} s"
        time.sleep(0.25)
    return time.monotonic() - began


def task_states(status: ConnectorStatus) -> tuple[str, ...]:
    return tuple(t.state for t in status.tasks)


class Replication:
    """The connector role's REPLICATION right, taken away and given back as the superuser."""

    def __init__(self, stack: Stack, settings: Settings) -> None:
        self._conninfo = stack.component("postgres").superuser_conninfo()
        self._user = settings.database.user
        self._role = sql.Identifier(settings.database.user)

    def take_away(self) -> int:
        """NOREPLICATION, and the connector's walsender terminated; how many were."""
        with psycopg.connect(self._conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} NOREPLICATION").format(self._role))
            killed = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE backend_type = 'walsender' AND usename = %s",
                (self._user,),
            ).fetchall()
        return sum(1 for (done,) in killed if done)

    def give_back(self) -> None:
        with psycopg.connect(self._conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} REPLICATION").format(self._role))


class Worker:
    """The real connector's state, read the way an operator would: Connect's status and the
    replication slot."""

    def __init__(self, settings: Settings, replication: Replication) -> None:
        self.settings = settings
        self.replication = replication
        self.backend: ConnectorBackend = Adapters(settings).connector_backend

    def streaming(self) -> bool:
        return self.backend.status().healthy and bool(observe_slot(self.settings).active)

    def failed(self) -> bool:
        return bool(self.backend.status().failed_tasks)

    def task_config(self) -> dict[str, str]:
        c = self.settings.connector
        answer = httpx.get(f"{c.connect_url}/connectors/{c.name}/tasks", timeout=10).json()
        # during the rebalance a config change starts, the worker answers 409 with an error
        # object instead of the task list: not there yet
        if not isinstance(answer, list) or len(answer) != 1:
            return {}
        return answer[0]["config"]

    def fails_again(self) -> float:
        """After a restart: the task runs (Debezium retrying inside it), then is FAILED again."""
        began = time.monotonic()
        wait_for("task RUNNING after the restart", lambda: not self.failed())
        wait_for("task FAILED again", self.failed)
        return time.monotonic() - began


@pytest.fixture
def worker(local_stack: Stack) -> Iterator[Worker]:
    """The connector with SURFACE_FAILURES applied; afterwards its rendered configuration, the
    role's REPLICATION right and a streaming connector back, for the tests after these."""
    settings = load_settings()
    replication = Replication(local_stack, settings)
    worker = Worker(settings, replication)
    worker.backend.apply(render(settings).config | SURFACE_FAILURES)
    wait_for(
        "the task on the new config",
        lambda: worker.task_config().items() >= SURFACE_FAILURES.items(),
    )
    wait_for("the connector streaming", worker.streaming)
    try:
        yield worker
    finally:
        replication.give_back()
        worker.backend.apply(render(settings).config)

        def streaming_again() -> bool:
            if worker.failed():
                worker.backend.restart(include_tasks=True, only_failed=True)
            return worker.streaming()

        wait_for("the connector streaming after the test", streaming_again, 120)


def tick(settings: Settings, cursor: str | None, alerter: Alerter, now: datetime) -> Tick:
    # one Adapters per tick, as the Dagster resource builds them
    return run_tick(connector_health_verdict, cursor, Adapters(settings), alerter, now)


def observed_tasks(t: Tick) -> list[str]:
    return [task["state"] for task in t.result.asset_events[0].metadata["tasks"].value]


def break_it(worker: Worker) -> float:
    """Take the right away and kill the walsender; the seconds until Connect says FAILED. Until
    then Debezium retries inside a task Connect reports RUNNING, and the slot is inactive."""
    assert worker.replication.take_away() == 1
    began = time.monotonic()
    seen: list[tuple[tuple[str, ...], bool]] = []

    def failed() -> bool:
        status = worker.backend.status()
        seen.append((task_states(status), bool(observe_slot(worker.settings).active)))
        return bool(status.failed_tasks)

    wait_for("task FAILED after the walsender was killed", failed)
    assert (("RUNNING",), False) in seen  # Debezium's own retry, invisible to Connect
    return time.monotonic() - began


def test_a_failed_task_is_restarted_and_resolves_once_it_streams(worker: Worker) -> None:
    settings = worker.settings
    recorder = Recorder()
    alerter = Alerter(settings, [recorder, LogDestination()])
    failed_after = break_it(worker)

    t0 = datetime.now(UTC)
    first = tick(settings, None, alerter, t0)
    assert first.summary == "connector RUNNING, task 0: FAILED; restart 1 of 5"
    assert observed_tasks(first) == ["RESTARTING"]  # the worker's answer to the restart
    assert first.notifications == []

    worker.replication.give_back()
    streaming_after = wait_for("the connector streaming again", worker.streaming)
    assert observe_slot(settings).active

    second = tick(settings, first.cursor, alerter, t0 + timedelta(minutes=1))
    assert second.summary == "connector and all tasks RUNNING"
    assert second.result.asset_events[1].passed
    assert second.notifications == [] and recorder.bodies == []  # one restart: nothing paged
    print(
        f"\nwalsender killed -> task FAILED after {failed_after:.1f} s;"
        f" restarted, right given back -> streaming after {streaming_after:.1f} s"
    )


def test_restarts_that_do_not_help_page_and_resolve_once_fixed_by_hand(
    worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDC_OPS_CONNECTOR__MAX_RESTARTS", "2")
    settings = load_settings()
    assert settings.connector.max_restarts == 2
    recorder = Recorder()
    alerter = Alerter(settings, [recorder, LogDestination()])
    failed_after = break_it(worker)
    t0, cycles = datetime.now(UTC), []

    at_0 = tick(settings, None, alerter, t0)
    assert at_0.summary.endswith("restart 1 of 2") and observed_tasks(at_0) == ["RESTARTING"]
    cycles.append(worker.fails_again())

    # within the back-off (2 minutes after the first restart) nothing is restarted
    at_1 = tick(settings, at_0.cursor, alerter, t0 + timedelta(minutes=1))
    assert "next restart after" in at_1.summary and observed_tasks(at_1) == ["FAILED"]
    assert worker.failed()

    at_2 = tick(settings, at_1.cursor, alerter, t0 + timedelta(minutes=2))
    assert at_2.summary.endswith("restart 2 of 2") and observed_tasks(at_2) == ["RESTARTING"]
    cycles.append(worker.fails_again())

    at_8 = tick(settings, at_2.cursor, alerter, t0 + timedelta(minutes=2 + 6))
    assert at_8.summary == "gave up after 2 restarts" and observed_tasks(at_8) == ["FAILED"]
    (raised,) = at_8.notifications
    assert (raised.kind, raised.alert.severity) == ("firing", Severity.CRITICAL)
    assert raised.alert.key == f"connector/{settings.connector.name}/failed"
    assert raised.alert.runbook.endswith("#connector-failed")
    assert "must be superuser or replication role to start walsender" in raised.alert.details
    # still failing a minute later: no second page (the cooldown), no restart
    at_9 = tick(settings, at_8.cursor, alerter, t0 + timedelta(minutes=9))
    assert at_9.notifications == [] and observed_tasks(at_9) == ["FAILED"]

    # fixed by hand: the right given back and the task restarted through the backend
    worker.replication.give_back()
    worker.backend.restart(include_tasks=True, only_failed=True)
    streaming_after = wait_for("the connector streaming after the fix", worker.streaming)

    at_10 = tick(settings, at_9.cursor, alerter, t0 + timedelta(minutes=10))
    assert [(n.kind, n.alert.key) for n in at_10.notifications] == [
        ("resolved", f"connector/{settings.connector.name}/failed")
    ]
    assert at_10.summary == "connector and all tasks RUNNING"
    assert [(b["kind"], b["severity"]) for b in recorder.bodies] == [
        ("firing", "critical"),
        ("resolved", "ok"),
    ]
    print(
        f"\nwalsender killed -> task FAILED after {failed_after:.1f} s; each restart ->"
        f" FAILED again after {', '.join(f'{c:.1f}' for c in cycles)} s;"
        f" fixed by hand -> streaming after {streaming_after:.1f} s"
    )
