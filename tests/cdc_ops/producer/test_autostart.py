"""The auto-start request: its Lambda invoke shape (documented API, via botocore's Stubber)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from cdc_ops.adapters import Adapters
from cdc_ops.producer.autostart import (
    AskOncePerCooldown,
    InProcessAutoStarter,
    LambdaAutoStarter,
    NoAutoStart,
)
from cdc_ops.settings import load_settings


def test_lambda_invoke_is_asynchronous_with_a_reason() -> None:
    client = boto3.client(
        "lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 202},
            {
                "FunctionName": "cdc-streaming-test-aurora-auto-start",
                "InvocationType": "Event",
                "Payload": ANY,
            },
        )
        starter = LambdaAutoStarter("cdc-streaming-test-aurora-auto-start", client)
        assert starter.request_start() == "auto-start invoked (202)"
        stub.assert_no_pending_responses()


def test_in_process_calls_the_handler_with_the_request() -> None:
    seen: list[dict] = []

    def handler(event: dict, _context: object) -> dict:
        seen.append(event)
        return {"status": "started"}

    assert InProcessAutoStarter(handler).request_start() == "auto-start ran in-process: started"
    assert seen == [{"source": "producer-api", "reason": "database connection failed"}]
    assert json.dumps(seen[0])  # the same payload the Lambda invoke sends


def test_choice_follows_settings() -> None:
    local = Adapters(load_settings()).auto_starter
    assert isinstance(local, AskOncePerCooldown)
    assert isinstance(local.inner, InProcessAutoStarter)
    aws = dict(
        env="aws",
        database={"cluster_host": "h", "password": "p"},
        kafka={"bootstrap_servers": "b:9092"},
    )
    assert isinstance(Adapters(load_settings(**aws)).auto_starter, NoAutoStart)
    with_function = load_settings(**aws, producer_api={"auto_start_function": "fn"})
    deployed = Adapters(with_function).auto_starter
    assert isinstance(deployed, AskOncePerCooldown)
    assert isinstance(deployed.inner, LambdaAutoStarter)


class Counting:
    def __init__(self, fail: bool = False) -> None:
        self.calls, self.fail = 0, fail

    def request_start(self) -> str:
        self.calls += 1
        if self.fail:
            raise RuntimeError("auto-start function unreachable")
        return "asked"


def test_a_container_asks_once_per_cooldown() -> None:
    now = [100.0]
    inner = Counting()
    starter = AskOncePerCooldown(inner, 60, clock=lambda: now[0])
    assert starter.request_start() == "asked"
    now[0] += 59
    assert starter.request_start() == (
        "auto-start already requested 59s ago (asked at most once per 60s)"
    )
    assert inner.calls == 1
    now[0] += 1  # the cooldown is over: a database still down is asked for again
    assert starter.request_start() == "asked"
    assert inner.calls == 2


def test_a_request_that_did_not_go_out_is_asked_again() -> None:
    inner = Counting(fail=True)
    starter = AskOncePerCooldown(inner, 60, clock=lambda: 0.0)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            starter.request_start()
    assert inner.calls == 2
    inner.fail = False
    assert starter.request_start() == "asked"
    assert starter.request_start().startswith("auto-start already requested")
    assert inner.calls == 3


def test_no_cooldown_asks_every_time() -> None:
    inner = Counting()
    starter = AskOncePerCooldown(inner, 0, clock=lambda: 5.0)
    starter.request_start()
    starter.request_start()
    assert inner.calls == 2


def test_the_503_path_asks_for_a_start_once_per_cooldown() -> None:
    """Through the producer API's handler, against a database port nothing listens on: every
    request answers 503 with Retry-After, and the container asks for a start once."""
    from cdc_ops.producer.connections import postgres_database
    from cdc_ops.tools.stack.scratch import free_ports
    from lambdas.producer_api.app import ProducerApi, make_service
    from tests.lambdas.test_producer_api_e2e import call, loan_event

    (port,) = free_ports(1)
    settings = load_settings(
        database={"cluster_port": port, "proxy_port": port, "password": "p"},
        producer_api={"pool_timeout_s": 1},
    )
    now = [0.0]
    inner = Counting()

    def make():
        service = make_service(settings, postgres_database, auto_start=False)
        service.auto_starter = AskOncePerCooldown(inner, 60, clock=lambda: now[0])
        return service

    api = ProducerApi("producer-api-cooldown-test", make)
    answers = [call(api, "POST", "/api/v1/events", loan_event(f"evt-cd-{i}")) for i in range(3)]
    assert [(status, headers["Retry-After"]) for status, headers, _ in answers] == [
        (503, "120")
    ] * 3
    assert inner.calls == 1
    now[0] = 61
    assert call(api, "GET", "/cars")[0] == 503
    assert inner.calls == 2
