"""Confluent Cloud's managed connector and its metrics, against the documents' shapes.

The Connect API answers follow Confluent's OpenAPI document of connect/v1 (confluentinc/
ccloud-sdk-go-v2, connect/v1/api/openapi.yaml); each test names the operation ids it relies on.
The Metrics API answers follow the Metrics API v2 document (metrics/v2/api/openapi.yaml in the
same repository): QueryRequest, FlatQueryResponse and ErrorResponse.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
import respx

from cdc_ops.connector.backends import ABSENT, ApplyResult, ConnectorError
from cdc_ops.connector.confluent_cloud import ConfluentCloudBackend
from cdc_ops.connector.confluent_metrics import FIGURES, SOURCE, ConfluentConnectorMetrics

CC = "https://api.confluent.test"
NAME = "business-events-cdc"
CLUSTER = f"{CC}/connect/v1/environments/env-abc/clusters/lkc-123"
BASE = f"{CLUSTER}/connectors/{NAME}"
MASK = "****************"  # how the document's examples show a secret

# what cdc-ops sends (confluent_v2's keys, abridged)
DESIRED = {
    "connector.class": "PostgresCdcSourceV2",
    "name": NAME,
    "tasks.max": "1",
    "kafka.auth.mode": "KAFKA_API_KEY",
    "kafka.api.key": "KAFKAKEY",
    "kafka.api.secret": "KAFKASECRET",
    "database.hostname": "cluster.example.test",
    "database.password": "dbpassword",
    "output.data.format": "JSON",
}
# getConnectv1ConnectorConfig's 200: the keys it requires (cloud.environment, cloud.provider,
# connector.class, kafka.api.key, kafka.api.secret, kafka.endpoint, kafka.region, name) with the
# secrets masked, and the connector's own keys
ANSWERED = {
    **DESIRED,
    "cloud.environment": "prod",
    "cloud.provider": "aws",
    "kafka.endpoint": "SASL_SSL://pkc-xxxxx.us-west-2.aws.confluent.cloud:9092",
    "kafka.region": "us-west-2",
    "kafka.api.key": MASK,
    "kafka.api.secret": MASK,
    "database.password": MASK,
}
NOT_FOUND = {"error": {"code": 404, "message": "resource not found"}}  # connect.v1.ConnectorError


class Clock:
    """monotonic() and sleep() of one fake clock: a sleep moves it on."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def cloud(clock: Clock | None = None, **kw) -> ConfluentCloudBackend:
    clock = clock or Clock()
    return ConfluentCloudBackend(
        CC,
        "env-abc",
        "lkc-123",
        NAME,
        "CLOUDKEY",
        "CLOUDSECRET",
        clock=clock,
        sleep=clock.sleep,
        **kw,
    )


def status_body(state: str, tasks: list[dict] | None = None, trace: str = "") -> dict:
    """readConnectv1ConnectorStatus's 200 (inline_response_200_1): name, type and connector
    {state, worker_id} required, tasks [{id, state, worker_id, msg}]."""
    return {
        "name": NAME,
        "connector": {"state": state, "worker_id": NAME, "trace": trace},
        "tasks": tasks if tasks is not None else [],
        "type": "source",
    }


def task(state: str, msg: str = "") -> dict:
    return {"id": 0, "state": state, "worker_id": NAME, "msg": msg}


def connector_answer(config: dict[str, str]) -> dict:
    """createOrUpdateConnectv1ConnectorConfig's 200 (connect.v1.Connector)."""
    return {
        "name": NAME,
        "config": config,
        "tasks": [{"connector": NAME, "task": 0}],
        "type": "source",
    }


# --- apply: getConnectv1ConnectorConfig, createOrUpdateConnectv1ConnectorConfig --------------


@respx.mock
def test_apply_leaves_an_unchanged_config_alone_whatever_the_service_adds() -> None:
    """GET .../config answers the service's keys and masked secrets besides cdc-ops's: still
    unchanged, nothing PUT. `type` is a further key the document's expand=info example shows."""
    respx.get(f"{BASE}/config").mock(
        return_value=httpx.Response(200, json={**ANSWERED, "type": "source"})
    )
    put = respx.put(f"{BASE}/config").mock(return_value=httpx.Response(200))
    assert cloud().apply(DESIRED) == ApplyResult.UNCHANGED
    assert not put.called


@respx.mock
def test_apply_puts_a_changed_owned_key_and_sends_back_no_service_key() -> None:
    """A key cdc-ops owns differs: PUT .../config (200) with exactly the desired keys - the real
    secrets, none of the GET's service keys or masks - under the Cloud API key's basic auth."""
    respx.get(f"{BASE}/config").mock(
        return_value=httpx.Response(200, json={**ANSWERED, "tasks.max": "2"})
    )
    put = respx.put(f"{BASE}/config").mock(
        return_value=httpx.Response(200, json=connector_answer(ANSWERED))
    )
    assert cloud().apply(DESIRED) == ApplyResult.UPDATED
    sent = json.loads(put.calls.last.request.content)
    assert sent == DESIRED
    assert not {"cloud.environment", "cloud.provider", "kafka.endpoint", "kafka.region"} & set(sent)
    assert MASK not in sent.values()
    auth = put.calls.last.request.headers["authorization"]
    assert auth == httpx.BasicAuth("CLOUDKEY", "CLOUDSECRET")._auth_header


@respx.mock
def test_apply_a_key_missing_from_the_answer_is_a_change_a_secret_is_not() -> None:
    """A desired key the answer lacks is a change; a secret is never compared (it comes back
    masked), so a changed secret alone sends nothing."""
    respx.get(f"{BASE}/config").mock(return_value=httpx.Response(200, json=ANSWERED))
    put = respx.put(f"{BASE}/config").mock(return_value=httpx.Response(200))
    assert cloud().apply({**DESIRED, "database.password": "rotated"}) == ApplyResult.UNCHANGED
    assert not put.called
    assert cloud().apply({**DESIRED, "snapshot.mode": "initial"}) == ApplyResult.UPDATED
    assert json.loads(put.calls.last.request.content)["snapshot.mode"] == "initial"


@respx.mock
def test_apply_creates_after_a_404_and_keeps_service_keys_out() -> None:
    """GET .../config 404 (connect.v1.ConnectorError): no connector; the PUT creates it. The
    document gives the PUT one success code, 200, so the 404 is what says CREATED. A service key
    in the caller's config is not sent either, and `name` is the backend's."""
    respx.get(f"{BASE}/config").mock(return_value=httpx.Response(404, json=NOT_FOUND))
    put = respx.put(f"{BASE}/config").mock(
        return_value=httpx.Response(200, json=connector_answer(ANSWERED))
    )
    given = {**DESIRED, "name": "other", "kafka.region": "us-west-2"}
    assert cloud().apply(given) == ApplyResult.CREATED
    assert json.loads(put.calls.last.request.content) == DESIRED


@respx.mock
def test_apply_errors_carry_the_services_message() -> None:
    """PUT .../config 400: connect.v1.ConnectorError {"error": {code, message}}; 500:
    inline_response_500 {"error_code", "message"}, retried (5xx) and then raised."""
    respx.get(f"{BASE}/config").mock(return_value=httpx.Response(404, json=NOT_FOUND))
    invalid = {"error": {"code": 400, "message": "Invalid value for database.hostname"}}
    respx.put(f"{BASE}/config").mock(return_value=httpx.Response(400, json=invalid))
    with pytest.raises(ConnectorError, match="PUT .*/config: 400 Invalid value for database"):
        cloud().apply(DESIRED)
    failed = {"error_code": 500, "message": "Failed to find any class that implements Connector"}
    put = respx.put(f"{BASE}/config").mock(return_value=httpx.Response(500, json=failed))
    before = put.call_count
    with pytest.raises(ConnectorError, match="500 Failed to find any class"):
        cloud(attempts=2).apply(DESIRED)
    assert put.call_count - before == 2


# --- status: readConnectv1ConnectorStatus ---------------------------------------------------


@respx.mock
def test_status_maps_the_documented_answer() -> None:
    """The document's example (PROVISIONING, no tasks); a failed task in Confluent's words
    (USER_ACTIONABLE_ERROR, its msg) counts as FAILED with the service's state in the trace;
    404 is ABSENT."""
    route = respx.get(f"{BASE}/status")
    route.mock(return_value=httpx.Response(200, json=status_body("PROVISIONING")))
    status = cloud().status()
    assert (status.name, status.state, status.tasks, status.healthy) == (
        NAME,
        "PROVISIONING",
        [],
        False,
    )
    failed = status_body(
        "FAILED", [task("USER_ACTIONABLE_ERROR", "login failed")], "Unable to connect"
    )
    route.mock(return_value=httpx.Response(200, json=failed))
    status = cloud().status()
    assert (status.state, status.trace) == ("FAILED", "Unable to connect")
    assert [(t.id, t.state, t.trace) for t in status.failed_tasks] == [
        (0, "FAILED", "USER_ACTIONABLE_ERROR: login failed")
    ]
    route.mock(return_value=httpx.Response(200, json=status_body("RUNNING", [task("RUNNING")])))
    assert cloud().status().healthy
    route.mock(return_value=httpx.Response(404, json=NOT_FOUND))
    assert cloud().status().state == ABSENT


@respx.mock
def test_an_answer_outside_the_document_is_a_connector_error() -> None:
    """inline_response_200_1 requires `connector` with its `state`."""
    respx.get(f"{BASE}/status").mock(return_value=httpx.Response(200, json={"name": NAME}))
    with pytest.raises(ConnectorError, match=r"GET .*/status: unexpected answer \(connector"):
        cloud().status()


# --- pause, resume, restart, stop: pauseConnectv1Connector, resumeConnectv1Connector ---------


@respx.mock
def test_pause_and_resume_take_a_202_without_a_body() -> None:
    """PUT .../pause and .../resume: 202 "Accepted", no content in the document."""
    pause = respx.put(f"{BASE}/pause").mock(return_value=httpx.Response(202))
    resume = respx.put(f"{BASE}/resume").mock(return_value=httpx.Response(202))
    cloud().pause()
    cloud().resume()
    assert pause.call_count == resume.call_count == 1
    assert pause.calls.last.request.content == b""


@respx.mock
def test_restart_pauses_waits_for_paused_then_resumes() -> None:
    """No restart operation in the document: pause (202), poll the status until PAUSED (the
    pause is asynchronous; a resume before it would do nothing), resume (202)."""
    order: list[str] = []

    def status(_request: httpx.Request) -> httpx.Response:
        order.append("status")
        states = {0: "FAILED", 1: "FAILED", 2: "PAUSED"}
        state = states.get(order.count("status") - 1, "RUNNING")
        tasks = [task("STOPPED")] if state == "PAUSED" else [task("SYSTEM_ERROR", "boom")]
        if state == "RUNNING":
            tasks = [task("RUNNING")]
        return httpx.Response(200, json=status_body(state, tasks))

    def call(name: str):
        def record(_request: httpx.Request) -> httpx.Response:
            order.append(name)
            return httpx.Response(202)

        return record

    respx.get(f"{BASE}/status").mock(side_effect=status)
    respx.put(f"{BASE}/pause").mock(side_effect=call("pause"))
    respx.put(f"{BASE}/resume").mock(side_effect=call("resume"))
    after = cloud().restart(include_tasks=True, only_failed=True)
    assert order == ["status", "pause", "status", "status", "resume", "status"]
    assert after.healthy


@respx.mock
def test_restart_leaves_a_healthy_or_paused_connector_alone() -> None:
    route = respx.get(f"{BASE}/status")
    pause = respx.put(f"{BASE}/pause").mock(return_value=httpx.Response(202))
    route.mock(return_value=httpx.Response(200, json=status_body("RUNNING", [task("RUNNING")])))
    assert cloud().restart(only_failed=True).healthy
    route.mock(return_value=httpx.Response(200, json=status_body("PAUSED", [task("STOPPED")])))
    assert cloud().restart(only_failed=False).state == "PAUSED"
    assert not pause.called


@respx.mock
def test_restart_resumes_anyway_and_raises_when_the_pause_never_shows() -> None:
    failed = status_body("FAILED", [task("SYSTEM_ERROR", "boom")])
    respx.get(f"{BASE}/status").mock(return_value=httpx.Response(200, json=failed))
    respx.put(f"{BASE}/pause").mock(return_value=httpx.Response(202))
    resume = respx.put(f"{BASE}/resume").mock(return_value=httpx.Response(202))
    clock = Clock()
    with pytest.raises(ConnectorError, match="pause did not show within 10 s .state FAILED"):
        cloud(clock, transition_timeout_s=10).restart()
    assert resume.call_count == 1
    assert 10 <= clock.now <= 12


@respx.mock
def test_stop_is_a_pause() -> None:
    """The document has no stop: PUT .../pause (202)."""
    pause = respx.put(f"{BASE}/pause").mock(return_value=httpx.Response(202))
    cloud().stop()
    assert pause.call_count == 1


# --- delete: deleteConnectv1Connector -------------------------------------------------------


@respx.mock
def test_delete_200_and_404_is_already_gone() -> None:
    """DELETE the connector: 200 with {"error": null} (inline_response_200); 404 is the goal."""
    route = respx.delete(BASE).mock(return_value=httpx.Response(200, json={"error": None}))
    cloud().delete()
    route.mock(return_value=httpx.Response(404, json=NOT_FOUND))
    cloud().delete()
    assert route.call_count == 2


# --- offsets: getConnectv1ConnectorOffsets --------------------------------------------------


@respx.mock
def test_offsets_in_kafka_connects_shape() -> None:
    """GET .../offsets 200 (connect.v1.ConnectorOffsets: id, name, offsets, metadata): the
    offsets list as Kafka Connect's GET /connectors/{name}/offsets gives it."""
    answer = {
        "id": "lcc-21sdda",
        "name": NAME,
        "offsets": [
            {"partition": {"server": "business-events"}, "offset": {"lsn": 24023128, "txId": 555}}
        ],
        "metadata": {"observed_at": "2024-02-20T15:14:19Z"},
    }
    respx.get(f"{BASE}/offsets").mock(return_value=httpx.Response(200, json=answer))
    assert cloud().offsets() == [
        {"partition": {"server": "business-events"}, "offset": {"lsn": 24023128, "txId": 555}}
    ]


# --- reset_offsets: alterConnectv1ConnectorOffsetsRequest, ...RequestStatus -----------------

ASKED_AT = "2024-02-20T15:14:19Z"
ASKED = {"id": "lcc-234ds", "name": NAME, "offsets": [], "requested_at": ASKED_AT, "type": "DELETE"}


def alter_status(phase: str, requested_at: str = ASKED_AT, message: str | None = None) -> dict:
    """connect.v1.AlterOffsetStatus: request and status {phase} required."""
    body: dict = {
        "request": {**ASKED, "requested_at": requested_at},
        "status": {"phase": phase},
        "previous_offsets": [],
        "applied_at": None,
    }
    if message:
        body["status"]["message"] = message
    return body


@respx.mock
def test_reset_offsets_asks_for_delete_and_waits_until_its_request_applies() -> None:
    """POST .../offsets/request {"type": "DELETE"} answers 202 with AlterOffsetRequestInfo; the
    status (GET .../offsets/request/status) is the latest request's: an earlier request's
    APPLIED is not this one's, PENDING is not yet."""
    post = respx.post(f"{BASE}/offsets/request").mock(return_value=httpx.Response(202, json=ASKED))
    polled = respx.get(f"{BASE}/offsets/request/status").mock(
        side_effect=[
            httpx.Response(200, json=alter_status("APPLIED", "2024-01-01T00:00:00Z")),
            httpx.Response(200, json=alter_status("PENDING")),
            httpx.Response(200, json=alter_status("APPLIED", message="reset successfully")),
        ]
    )
    cloud().reset_offsets()
    assert json.loads(post.calls.last.request.content) == {"type": "DELETE"}
    assert polled.call_count == 3


@respx.mock
def test_reset_offsets_failed_carries_the_services_message() -> None:
    respx.post(f"{BASE}/offsets/request").mock(return_value=httpx.Response(202, json=ASKED))
    respx.get(f"{BASE}/offsets/request/status").mock(
        return_value=httpx.Response(200, json=alter_status("FAILED", message="offsets invalid"))
    )
    with pytest.raises(ConnectorError, match="offset reset of .* failed: offsets invalid"):
        cloud().reset_offsets()


@respx.mock
def test_reset_offsets_gives_up_after_its_bound_and_a_refusal_is_raised() -> None:
    respx.post(f"{BASE}/offsets/request").mock(return_value=httpx.Response(202, json=ASKED))
    respx.get(f"{BASE}/offsets/request/status").mock(
        return_value=httpx.Response(200, json=alter_status("PENDING_VALIDATION"))
    )
    clock = Clock()
    with pytest.raises(ConnectorError, match="is PENDING_VALIDATION after 30 s"):
        cloud(clock, offsets_timeout_s=30).reset_offsets()
    assert 30 <= clock.now <= 32
    bad = {"error": {"code": 400, "message": "Bad Request"}}
    respx.post(f"{BASE}/offsets/request").mock(return_value=httpx.Response(400, json=bad))
    with pytest.raises(ConnectorError, match="POST .*/offsets/request: 400 Bad Request"):
        cloud().reset_offsets()


# --- resource_id: listConnectv1ConnectorsWithExpansions -------------------------------------


@respx.mock
def test_resource_id_from_the_id_expansion() -> None:
    """GET .../connectors?expand=id: connect.v1.ConnectorExpansionMap, by connector name."""
    answer = {NAME: {"id": {"id": "lcc-xxxxx", "id_type": "ID"}}}
    route = respx.get(f"{CLUSTER}/connectors", params={"expand": "id"})
    route.mock(return_value=httpx.Response(200, json=answer))
    assert cloud().resource_id() == "lcc-xxxxx"
    route.mock(return_value=httpx.Response(200, json={}))
    assert cloud().resource_id() is None


# --- metrics: POST /v2/metrics/cloud/query --------------------------------------------------

METRICS = "https://api.telemetry.test"
QUERY = f"{METRICS}/v2/metrics/cloud/query"
NOW = datetime(2026, 3, 2, 12, 7, 31, tzinfo=UTC)


def metrics() -> ConfluentConnectorMetrics:
    return ConfluentConnectorMetrics(
        METRICS, "lcc-xxxxx", "CLOUDKEY", "CLOUDSECRET", clock=lambda: NOW
    )


@respx.mock
def test_metrics_query_sent_records_for_the_connector() -> None:
    """QueryRequest (aggregations, granularity, intervals required; one aggregation at most; agg
    left out as the changelog advises) filtered on resource.connector.id; FlatQueryResponse's
    points (timestamp, value required) summed into records_sent."""
    answer = {"data": [{"timestamp": "2026-03-02T11:47:00Z", "value": 9741.0}]}
    route = respx.post(QUERY).mock(return_value=httpx.Response(200, json=answer))
    read = metrics().read()
    assert json.loads(route.calls.last.request.content) == {
        "aggregations": [{"metric": "io.confluent.kafka.connect/sent_records"}],
        "filter": {"field": "resource.connector.id", "op": "EQ", "value": "lcc-xxxxx"},
        "granularity": "ALL",
        "intervals": ["2026-03-02T11:47:00Z/2026-03-02T12:02:00Z"],
    }
    auth = route.calls.last.request.headers["authorization"]
    assert auth == httpx.BasicAuth("CLOUDKEY", "CLOUDSECRET")._auth_header
    assert (read.source, read.available, read.records_sent) == (SOURCE, True, 9741)
    assert read.total_events_seen is None and read.ms_behind_source is None
    assert "no lag behind source" in read.unavailable["ms_behind_source"]
    assert set(read.unavailable) == set(FIGURES) - {"records_sent"}
    route.mock(return_value=httpx.Response(200, json={"data": []}))
    assert metrics().read().records_sent == 0  # no point: nothing counted in the window


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(401, json={"errors": [{"status": "401", "detail": "bad key CLOUDKEY"}]}),
        httpx.Response(429),  # the document gives a 429 no body
        httpx.Response(500, text="upstream CLOUDSECRET failed"),
        httpx.Response(200, json={"rows": []}),  # not a FlatQueryResponse
        httpx.ConnectError("connection refused"),
    ],
)
@respx.mock
def test_metrics_errors_leave_every_figure_unavailable_and_no_secret(answer) -> None:
    route = respx.post(QUERY)
    if isinstance(answer, Exception):
        route.mock(side_effect=answer)
    else:
        route.mock(return_value=answer)
    read = metrics().read()
    assert read.source == SOURCE and read.records_sent is None
    assert set(read.unavailable) == set(FIGURES)
    (error,) = set(read.unavailable.values())
    assert error.startswith(f"POST {QUERY}: ")
    assert "CLOUDKEY" not in error and "CLOUDSECRET" not in error
