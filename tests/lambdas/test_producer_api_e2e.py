"""The producer API handlers against the real local PostgreSQL, through PgBouncer."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from cdc_ops.clients.postgres import connect
from cdc_ops.producer.connections import dsql_database, postgres_database
from cdc_ops.settings import Settings
from cdc_ops.tools.api_server import proxy_event
from cdc_ops.tools.stack import Stack
from lambdas.producer_api.app import UNAVAILABLE_MESSAGE, ProducerApi, make_service

pytestmark = pytest.mark.e2e


class CountingAutoStarter:
    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    def request_start(self) -> str:
        self.calls += 1
        if self.fail:
            raise RuntimeError("auto-start function unreachable")
        return "counted"


def build_api(settings: Settings, starter: CountingAutoStarter, database=postgres_database):
    def make():
        service = make_service(settings, database, auto_start=False)
        service.auto_starter = starter
        return service

    return ProducerApi("producer-api-test", make)


def call(
    api: ProducerApi, method: str, path: str, body: Any = None, raw: bytes | None = None
) -> tuple[int, dict[str, str], Any]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    headers = {"content-type": "application/json"}
    result = api.handler(proxy_event(method, path, headers, data, "127.0.0.1"), None)
    out = dict(result.get("headers") or {})
    out.update({k: ", ".join(v) for k, v in (result.get("multiValueHeaders") or {}).items()})
    text = result.get("body") or ""
    return result["statusCode"], out, json.loads(text) if text else None


def loan_event(uuid: str, *entity_ids: str) -> dict[str, Any]:
    return {
        "eventHeader": {
            "uuid": uuid,
            "eventName": "LoanCreated",
            "eventType": "LoanCreated",
            "createdDate": 1705312200000,
            "savedDate": "2024-01-15T10:30:05Z",
        },
        "eventBody": {
            "entities": [
                {"entityType": "Loan", "entityId": e, "updatedAttributes": {"loan": {"amount": 5}}}
                for e in (entity_ids or ("loan-1",))
            ]
        },
    }


def counts(settings: Settings, event_id: str) -> tuple[int, int, int]:
    with connect(settings) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM business_events WHERE id = %(id)s),"
            " (SELECT count(*) FROM event_headers WHERE id = %(id)s),"
            " (SELECT count(*) FROM entities WHERE event_id = %(id)s)",
            {"id": event_id},
        ).fetchone()


@pytest.fixture(scope="module")
def starter() -> CountingAutoStarter:
    return CountingAutoStarter()


@pytest.fixture(scope="module")
def api(local_stack: Stack, starter: CountingAutoStarter) -> ProducerApi:
    return build_api(local_stack.settings, starter)


def test_an_event_is_written_to_three_tables(api: ProducerApi, local_stack: Stack) -> None:
    status, _, body = call(api, "POST", "/api/v1/events", loan_event("evt-a", "l1", "l2"))
    assert (status, body) == (201, {"id": "evt-a", "status": "created"})
    assert counts(local_stack.settings, "evt-a") == (1, 1, 2)
    with connect(local_stack.settings) as conn:
        row = conn.execute(
            "SELECT event_name, event_type, created_date = '2024-01-15 09:50:00+00',"
            " saved_date = '2024-01-15 10:30:05+00', event_data FROM business_events"
            " WHERE id = 'evt-a'"
        ).fetchone()
        header = conn.execute("SELECT header_data FROM event_headers WHERE id = 'evt-a'").fetchone()
    assert row == ("LoanCreated", "LoanCreated", True, True, loan_event("evt-a", "l1", "l2"))
    assert header == (loan_event("evt-a")["eventHeader"],)

    status, _, body = call(api, "GET", "/api/v1/events/evt-a")
    assert (status, body) == (200, loan_event("evt-a", "l1", "l2"))


def test_a_replay_writes_nothing_and_a_conflict_is_409(api: ProducerApi, local_stack) -> None:
    first = loan_event("evt-b")
    assert call(api, "POST", "/api/v1/events", first)[0] == 201
    status, _, body = call(api, "POST", "/api/v1/events", copy.deepcopy(first))
    assert (status, body) == (200, {"id": "evt-b", "status": "already exists"})
    assert counts(local_stack.settings, "evt-b") == (1, 1, 1)

    changed = loan_event("evt-b", "other-loan")
    status, _, body = call(api, "POST", "/api/v1/events", changed)
    assert status == 409
    assert body["message"] == "event evt-b already exists with different content"
    assert call(api, "GET", "/api/v1/events/evt-b")[2] == first  # the original stands


def test_every_bad_field_is_named_and_nothing_is_written(api: ProducerApi, local_stack) -> None:
    bad = {
        "eventHeader": {"uuid": "evt c", "eventName": ""},
        "eventBody": {"entities": [{"entityType": "Loan"}]},
        "extra": True,
    }
    status, _, body = call(api, "POST", "/api/v1/events", bad)
    assert status == 422
    assert sorted(f["field"] for f in body["fields"]) == [
        "eventBody.entities[0].entityId",
        "eventHeader.eventName",
        "eventHeader.uuid",
        "extra",
    ]
    assert body["message"].startswith("invalid fields: ")
    assert counts(local_stack.settings, "evt c") == (0, 0, 0)


def test_malformed_empty_and_oversized_bodies(api: ProducerApi, local_stack: Stack) -> None:
    status, _, body = call(api, "POST", "/api/v1/events", raw=b'{"eventHeader": ')
    assert status == 400 and body["message"].startswith("request body is not valid JSON")
    status, _, body = call(api, "POST", "/api/v1/events", raw=b"")
    assert (status, body["message"]) == (400, "request body is required")

    huge = loan_event("evt-huge")
    huge["eventBody"]["entities"][0]["updatedAttributes"] = {"blob": "x" * 300_000}
    status, _, body = call(api, "POST", "/api/v1/events", huge)
    assert (status, body["message"]) == (413, "request body is larger than 262144 bytes")
    assert counts(local_stack.settings, "evt-huge") == (0, 0, 0)


def test_a_failing_entities_insert_leaves_no_partial_rows(api: ProducerApi, local_stack) -> None:
    settings = local_stack.settings
    with connect(settings) as conn:
        conn.execute(
            "CREATE OR REPLACE FUNCTION test_fail_entity() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'injected failure for %', NEW.entity_id; END $$"
        )
        conn.execute(
            "CREATE TRIGGER test_fail_entity BEFORE INSERT ON entities FOR EACH ROW"
            " WHEN (NEW.entity_id = 'explode') EXECUTE FUNCTION test_fail_entity()"
        )
    try:
        status, _, body = call(api, "POST", "/api/v1/events", loan_event("evt-d", "ok", "explode"))
        assert status == 500
        assert body == {
            "error": "Internal Server Error",
            "status": 500,
            "message": "internal error; see the function's log",
        }
        assert counts(settings, "evt-d") == (0, 0, 0)
    finally:
        with connect(settings) as conn:
            conn.execute("DROP TRIGGER test_fail_entity ON entities")
    # the same event goes through once the fault is gone
    assert call(api, "POST", "/api/v1/events", loan_event("evt-d", "ok", "fine"))[0] == 201
    assert counts(settings, "evt-d") == (1, 1, 2)


def test_cars(api: ProducerApi) -> None:
    car = {"make": "Volvo", "model": "XC60", "year": 2023, "vin": "YV1DZ8256C2271234"}
    status, _, created = call(api, "POST", "/cars", car)
    assert status == 201 and created["status"] == "created"
    car_id = created["id"]
    assert call(api, "GET", f"/cars/{car_id}")[2] == {**car, "id": car_id}

    named = {"id": "car-7", "make": "Saab", "model": "900", "year": 1991, "trim": "Turbo"}
    assert call(api, "POST", "/cars", named)[:3:2] == (201, {"id": "car-7", "status": "created"})
    assert call(api, "POST", "/cars", named)[0] == 200
    assert call(api, "POST", "/cars", {**named, "year": 1992})[0] == 409

    status, _, listing = call(api, "GET", "/cars?limit=100")
    assert status == 200 and {"car-7", car_id} <= {c["id"] for c in listing["cars"]}
    status, _, page = call(api, "GET", "/cars?limit=1&offset=0")
    assert len(page["cars"]) == 1 and page["limit"] == 1

    status, _, body = call(api, "GET", "/cars?limit=0")
    assert status == 422 and body["fields"][0]["field"] == "query.limit"
    status, _, body = call(api, "POST", "/cars", {"make": "Volvo", "year": 1700})
    assert status == 422
    assert {f["field"] for f in body["fields"]} == {"model", "year"}
    assert call(api, "GET", "/cars/no-such-car")[:3:2] == (
        404,
        {"error": "Not Found", "message": "car no-such-car not found", "status": 404},
    )


def test_unknown_routes_and_events_are_404_and_other_methods_405(api: ProducerApi) -> None:
    assert call(api, "GET", "/api/v1/events/nope")[0] == 404
    status, _, body = call(api, "GET", "/api/v2/events")
    assert (status, body["message"]) == (404, "no route for GET /api/v2/events")
    status, headers, body = call(api, "DELETE", "/api/v1/events/x")
    assert (status, headers["Allow"]) == (405, "GET")
    assert body["message"] == "DELETE is not allowed on /api/v1/events/x; allowed: GET"


def test_the_pool_is_reused_across_invocations(api: ProducerApi) -> None:
    for _ in range(5):
        assert call(api, "GET", "/cars?limit=1")[0] == 200
    stats = api.service.database.stats()
    assert stats["pool_size"] <= api.service.database._pool.max_size
    assert stats["connections_num"] <= 2  # max_size, however many requests


def test_the_dsql_handler_runs_the_same_flow_on_the_local_postgres(local_stack: Stack) -> None:
    api = build_api(local_stack.settings, CountingAutoStarter(), database=dsql_database)
    assert call(api, "POST", "/api/v1/events", loan_event("evt-dsql"))[0] == 201
    assert call(api, "GET", "/api/v1/events/evt-dsql")[2] == loan_event("evt-dsql")
    assert counts(local_stack.settings, "evt-dsql") == (1, 1, 1)


@pytest.fixture
def stoppable(scratch_settings: Settings) -> Iterator[tuple[Stack, Settings]]:
    """PostgreSQL + PgBouncer of their own, so stopping the database harms no other test."""
    settings = scratch_settings.model_copy(deep=True)
    settings.producer_api.pool_timeout_s = 2
    settings.producer_api.query_timeout_s = 3
    settings.database.connect_timeout_s = 1
    stack = Stack(scratch_settings)
    stack.up(["postgres", "pgbouncer"])
    yield stack, settings


def test_stopped_database_gives_503_and_one_auto_start_per_request(stoppable) -> None:
    stack, settings = stoppable
    starter = CountingAutoStarter()
    api = build_api(settings, starter)
    assert call(api, "POST", "/api/v1/events", loan_event("evt-s1"))[0] == 201  # pool is warm

    stack.down(["postgres"])
    began = time.monotonic()
    status, headers, body = call(api, "POST", "/api/v1/events", loan_event("evt-s2"))
    elapsed = time.monotonic() - began
    assert status == 503
    assert headers["Retry-After"] == "120"
    assert body == {
        "error": "Service Temporarily Unavailable",
        "message": UNAVAILABLE_MESSAGE,
        "status": 503,
        "retry_after": 120,
    }
    assert starter.calls == 1
    assert elapsed < 10  # bounded by the pool and query timeouts, not the proxy's 120 s wait
    assert call(api, "GET", "/cars")[0] == 503
    assert starter.calls == 2

    stack.up(["postgres"])
    deadline = time.monotonic() + 30
    while (status := call(api, "POST", "/api/v1/events", loan_event("evt-s2"))[0]) == 503:
        assert time.monotonic() < deadline, "the API did not recover after the database started"
        time.sleep(0.5)
    assert status == 201


def test_a_failing_auto_start_still_answers_503(stoppable) -> None:
    stack, settings = stoppable
    starter = CountingAutoStarter(fail=True)
    api = build_api(settings, starter)
    stack.down(["postgres"])
    status, headers, _ = call(api, "GET", "/cars")
    assert (status, headers["Retry-After"], starter.calls) == (503, "120", 1)


def test_concurrent_requests_through_separate_containers(local_stack: Stack) -> None:
    from cdc_ops.tools.api_server import LambdaContainers

    containers = LambdaContainers(
        lambda: build_api(local_stack.settings, CountingAutoStarter()), count=4
    )
    results: list[int] = []

    def post(i: int) -> None:
        body = json.dumps(loan_event(f"evt-par-{i}")).encode()
        headers = {"content-type": "application/json"}
        event = proxy_event("POST", "/api/v1/events", headers, body, "127.0.0.1")
        results.append(containers(event, None)["statusCode"])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [201] * 16
    with connect(local_stack.settings) as conn:
        n = conn.execute("SELECT count(*) FROM business_events WHERE id LIKE 'evt-par-%'")
        assert n.fetchone() == (16,)


def test_a_wrong_password_is_not_mistaken_for_a_stopped_database(local_stack: Stack) -> None:
    settings = local_stack.settings.model_copy(deep=True)
    settings.database.password = type(settings.database.password)("wrong")
    settings.producer_api.pool_timeout_s = 2
    starter = CountingAutoStarter()
    api = build_api(settings, starter)
    status, _, body = call(api, "GET", "/cars")
    # an operator's mistake: a 500 and the error in the log, not "the database is starting"
    assert (status, body["message"]) == (500, "internal error; see the function's log")
    assert starter.calls == 0
    error = api.service.database.last_connect_error
    assert isinstance(error, psycopg.OperationalError)
    assert "authentication failed" in str(error)


def test_the_password_comes_from_secrets_manager_and_a_rotation_is_followed(
    local_stack: Stack,
) -> None:
    """As deployed: no password in the environment, only the RDS-managed secret's ARN (moto)."""
    from cdc_ops.clients.aws import client

    settings = local_stack.settings.model_copy(deep=True)
    real = settings.database.password.get_secret_value()
    secrets = client("secretsmanager", settings)
    arn = secrets.create_secret(
        Name=f"rds!cluster-test-{time.monotonic_ns()}",
        SecretString=json.dumps({"username": settings.database.user, "password": "stale"}),
    )["ARN"]
    settings.database.password = None
    settings.database.password_secret_arn = arn
    settings.producer_api.pool_timeout_s = 2
    starter = CountingAutoStarter()
    api = build_api(settings, starter)
    # the secret holds an old password: refused, a 500, and the cached value is dropped
    assert call(api, "GET", "/cars")[0] == 500
    assert "authentication failed" in str(api.service.database.last_connect_error)
    # the secret is rotated to the real password: the next request logs in at once, well
    # inside the 300 s reuse window, because the refused password was forgotten
    secrets.put_secret_value(
        SecretId=arn, SecretString=json.dumps({"username": "x", "password": real})
    )
    status, _, body = call(api, "GET", "/cars")
    assert status == 200, body
    assert starter.calls == 0


def test_a_secret_without_a_password_key_is_named_and_not_echoed(local_stack: Stack) -> None:
    from cdc_ops.clients.aws import client
    from cdc_ops.clients.database_secret import secret_password

    settings = local_stack.settings.model_copy(deep=True)
    arn = client("secretsmanager", settings).create_secret(
        Name=f"not-json-{time.monotonic_ns()}", SecretString="hunter2"
    )["ARN"]
    settings.database.password_secret_arn = arn
    with pytest.raises(ValueError, match="database.password_secret_arn") as caught:
        secret_password(settings)()
    assert "hunter2" not in str(caught.value)


def test_the_control_plane_reads_the_slot_with_the_secrets_password(local_stack: Stack) -> None:
    """The ECS control plane gets only database.password_secret_arn, like the Lambdas."""
    from cdc_ops.clients.aws import client

    settings = local_stack.settings.model_copy(deep=True)
    real = settings.database.password.get_secret_value()
    arn = client("secretsmanager", settings).create_secret(
        Name=f"rds!cluster-cp-{time.monotonic_ns()}",
        SecretString=json.dumps({"username": settings.database.user, "password": real}),
    )["ARN"]
    settings.database.password = None
    settings.database.password_secret_arn = arn
    with connect(settings) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (settings.database.user,)
