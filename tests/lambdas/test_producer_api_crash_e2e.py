"""PostgreSQL killed hard (SIGKILL of the postmaster) while events flow through PgBouncer into
four warm producer API containers: no 500, a 503 with Retry-After until it is back, 201s again
without restarting the containers, and no event lost or half written."""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cdc_ops.clients.postgres import connect
from cdc_ops.producer.connections import postgres_database
from cdc_ops.settings import Settings
from cdc_ops.tools.api_server import LambdaContainers, proxy_event
from cdc_ops.tools.stack import Stack
from cdc_ops.tools.stack.process import live_group_members, reap
from lambdas.producer_api.app import ProducerApi, make_service
from tests.lambdas.test_producer_api_e2e import CountingAutoStarter, loan_event

pytestmark = pytest.mark.e2e

CONTAINERS = 4
POSTERS = 6
ENTITIES = ("loan-a", "loan-b")
HEADERS = {"content-type": "application/json"}


@dataclass(frozen=True)
class Answer:
    event_id: str
    status: int
    retry_after: str | None
    container: int
    began: float  # monotonic
    ended: float


class Container:
    """One warm Lambda container: its own pool, auto-starter and log."""

    def __init__(self, number: int, settings: Settings) -> None:
        self.number = number
        self.starter = CountingAutoStarter()
        self.log = io.StringIO()

        def make():
            service = make_service(settings, postgres_database, auto_start=False)
            service.auto_starter = self.starter
            return service

        # a name of its own: Powertools keeps the first stream a logger name was given
        name = f"producer-api-crash-{number}-{time.monotonic_ns()}"
        self.api = ProducerApi(name, make, log_stream=self.log)

    def handler(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {**self.api.handler(event, context), "container": self.number}


class Traffic:
    """Posters sending new events through the containers until stopped."""

    def __init__(self, containers: LambdaContainers, prefix: str = "evt-crash") -> None:
        self._containers = containers
        self._prefix = prefix
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.answers: list[Answer] = []
        self._threads = [
            threading.Thread(target=self._post, args=(n,), daemon=True) for n in range(POSTERS)
        ]

    def _post(self, poster: int) -> None:
        sent = 0
        while not self._stop.is_set():
            event_id = f"{self._prefix}-{poster}-{sent}"
            sent += 1
            body = json.dumps(loan_event(event_id, *ENTITIES)).encode()
            began = time.monotonic()
            result = self._containers(
                proxy_event("POST", "/api/v1/events", HEADERS, body, "127.0.0.1"), None
            )
            headers = dict(result.get("headers") or {})
            for key, values in (result.get("multiValueHeaders") or {}).items():
                headers[key] = ", ".join(values)
            answer = Answer(
                event_id,
                result["statusCode"],
                headers.get("Retry-After"),
                result["container"],
                began,
                time.monotonic(),
            )
            with self._lock:
                self.answers.append(answer)

    def snapshot(self) -> list[Answer]:
        with self._lock:
            return list(self.answers)

    def wait_for(self, done, what: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not done(self.snapshot()):
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.05)

    def __enter__(self) -> Traffic:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)


@pytest.fixture
def crashable(scratch_settings: Settings) -> Iterator[tuple[Stack, Settings]]:
    """PostgreSQL + PgBouncer of their own (stopped by scratch_settings afterwards)."""
    settings = scratch_settings.model_copy(deep=True)
    # short bounds so an outage answers fast (the handler serialises requests, see api_server)
    settings.producer_api.pool_timeout_s = 1.5
    settings.producer_api.query_timeout_s = 2
    settings.database.connect_timeout_s = 1
    stack = Stack(scratch_settings)
    stack.up(["postgres", "pgbouncer"])
    yield stack, settings


def kill_postmaster(stack: Stack) -> None:
    """SIGKILL the postmaster alone, as a crash would, and wait for its orphaned backends to
    notice and exit (a restart refuses to start while they hold the shared memory)."""
    record = stack.record(stack.component("postgres"))
    assert record is not None
    os.kill(record.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    # the postmaster leads its own process group; it is our child, reaped so that no zombie
    # keeps its PID (the restart's lock file check would take it for a running postmaster)
    while live_group_members(record.pid) or Path(f"/proc/{record.pid}").exists():
        reap(record.pid)
        assert time.monotonic() < deadline, "PostgreSQL's backends outlived the postmaster"
        time.sleep(0.05)


def created_since(answers: list[Answer], since: float, container: int) -> int:
    return sum(
        1 for a in answers if a.container == container and a.began > since and a.status == 201
    )


def logged(containers: list[Container], level: str) -> list[dict[str, Any]]:
    return [
        record
        for c in containers
        for line in c.log.getvalue().splitlines()
        if (record := json.loads(line)).get("level") == level
    ]


def unhandled(containers: list[Container]) -> str:
    return "\n".join(str(r.get("exception", r)) for r in logged(containers, "ERROR"))


def test_a_database_killed_under_traffic_answers_503_then_201_and_loses_nothing(
    crashable,
) -> None:
    stack, settings = crashable
    containers = [Container(n, settings) for n in range(CONTAINERS)]
    pool = iter(containers)
    gateway = LambdaContainers(lambda: next(pool), count=CONTAINERS)

    with Traffic(gateway) as traffic:
        # warm: every container has written through its pool
        traffic.wait_for(
            lambda a: {x.container for x in a if x.status == 201} == set(range(CONTAINERS)),
            "every container to answer 201",
            timeout_s=30,
        )
        killed_at = time.monotonic()
        kill_postmaster(stack)
        # the outage: each container has met it at least once
        traffic.wait_for(
            lambda a: (
                len({x.container for x in a if x.status == 503}) == CONTAINERS
                and time.monotonic() - killed_at > 3
            ),
            "every container to answer 503",
            timeout_s=90,
        )
        stack.up(["postgres"])  # the same data directory: crash recovery, no new cluster
        up_at = time.monotonic()
        # recovered: each container answers 201 again, to requests sent after the restart
        traffic.wait_for(
            lambda a: all(created_since(a, up_at, n) >= 2 for n in range(CONTAINERS)),
            "every container to answer 201 twice after the restart",
            timeout_s=60,
        )
    answers = traffic.snapshot()

    statuses = Counter(a.status for a in answers)
    assert set(statuses) <= {201, 503}, (
        f"answers {dict(statuses)}; errors:\n{unhandled(containers)}"
    )
    before = [a for a in answers if a.ended < killed_at]
    assert before and all(a.status == 201 for a in before)
    unavailable = [a for a in answers if a.status == 503]
    assert all(a.retry_after == "120" for a in unavailable)
    # each 503 went through the outage path (it asked for a start), nothing else did
    assert sum(c.starter.calls for c in containers) == len(unavailable)
    # recovery within seconds, on the same warm containers
    recovered = {
        n: min(a.ended for a in answers if a.container == n and a.began > up_at and a.status == 201)
        for n in range(CONTAINERS)
    }
    assert max(recovered.values()) - up_at < 10, recovered
    for n in range(CONTAINERS):
        last = [a for a in answers if a.container == n][-2:]
        assert [a.status for a in last] == [201, 201], (n, last)

    created = {a.event_id for a in answers if a.status == 201}
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT b.id, (SELECT count(*) FROM event_headers h WHERE h.id = b.id),"
            " (SELECT count(*) FROM entities e WHERE e.event_id = b.id)"
            " FROM business_events b WHERE b.id LIKE 'evt-crash-%'"
        ).fetchall()
    stored = {event_id for event_id, _, _ in rows}
    partial = [r for r in rows if r[1:] != (1, len(ENTITIES))]
    assert not partial, partial
    assert created <= stored, f"201 answered but not stored: {sorted(created - stored)}"
    # a 503 whose transaction committed before the answer was lost is a replay when retried
    committed_503 = {a.event_id for a in unavailable} & stored
    for event_id in sorted(committed_503):
        body = json.dumps(loan_event(event_id, *ENTITIES)).encode()
        result = gateway(proxy_event("POST", "/api/v1/events", HEADERS, body, "127.0.0.1"), None)
        assert (result["statusCode"], json.loads(result["body"])["status"]) == (
            200,
            "already exists",
        )
    causes = Counter(r.get("cause", "")[:90] for r in logged(containers, "WARNING"))
    print(
        f"\n{len(answers)} answers {dict(statuses)}, {len(stored)} stored,"
        f" {len(committed_503)} stored despite a 503; recovered"
        f" {max(recovered.values()) - up_at:.1f}s after the restart; 503 causes:"
    )
    for cause, n in causes.most_common():
        print(f"  {n} x {cause}")
