"""The producer API's log lines and answers name their request: API Gateway's request id as the
correlation id of every line, a cold-start field, and the id in the response's headers."""

from __future__ import annotations

import io
import json

from cdc_ops.producer.autostart import AskOncePerCooldown
from cdc_ops.producer.connections import postgres_database
from cdc_ops.settings import load_settings
from cdc_ops.tools.api_server import proxy_event
from cdc_ops.tools.stack.scratch import free_ports
from lambdas.producer_api.app import REQUEST_ID_HEADER, ProducerApi, make_service
from tests.lambdas.test_producer_api_e2e import loan_event


class Asked:
    def __init__(self) -> None:
        self.calls = 0

    def request_start(self) -> str:
        self.calls += 1
        return "asked"


def test_each_log_line_names_its_request_and_the_answer_does_too() -> None:
    (port,) = free_ports(1)  # nothing listens there: every request takes the 503 path
    settings = load_settings(
        database={"cluster_port": port, "proxy_port": port, "password": "p"},
        producer_api={"pool_timeout_s": 1},
    )
    asked = Asked()

    def make():
        service = make_service(settings, postgres_database, auto_start=False)
        service.auto_starter = AskOncePerCooldown(asked, 60)
        return service

    stream = io.StringIO()
    api = ProducerApi("producer-api-log-test", make, log_stream=stream)
    answers = {}
    for request_id in ("req-first", "req-second"):
        event = proxy_event(
            "POST",
            "/api/v1/events",
            {"content-type": "application/json"},
            json.dumps(loan_event(f"evt-{request_id}")).encode(),
            "127.0.0.1",
        )
        event["requestContext"]["requestId"] = request_id
        answers[request_id] = api.handler(event, None)

    for request_id, answer in answers.items():
        assert answer["statusCode"] == 503
        assert answer["multiValueHeaders"][REQUEST_ID_HEADER] == [request_id]
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    by_request: dict[str, list[dict]] = {}
    for line in lines:
        by_request.setdefault(line.get("correlation_id"), []).append(line)
    # every line belongs to one of the two requests, and each request logged its 503
    assert set(by_request) == {"req-first", "req-second"}, lines
    assert [ln["cold_start"] for ln in by_request["req-first"]] == [True] * len(
        by_request["req-first"]
    )
    assert {ln["cold_start"] for ln in by_request["req-second"]} == {False}
    first = by_request["req-first"][0]
    assert first["message"] == "database unavailable; auto-start requested"
    assert first["auto_start"] == "asked"
    # the second request, inside the cooldown, did not ask again, and says so
    assert by_request["req-second"][0]["auto_start"].startswith("auto-start already requested")
    assert asked.calls == 1
