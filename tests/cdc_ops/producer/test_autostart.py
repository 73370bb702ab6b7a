"""The auto-start request: its Lambda invoke shape (documented API, via botocore's Stubber)."""

from __future__ import annotations

import json

import boto3
from botocore.stub import ANY, Stubber

from cdc_ops.adapters import Adapters
from cdc_ops.producer.autostart import (
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
    assert isinstance(Adapters(load_settings()).auto_starter, InProcessAutoStarter)
    aws = dict(
        env="aws",
        database={"cluster_host": "h", "password": "p"},
        kafka={"bootstrap_servers": "b:9092"},
    )
    assert isinstance(Adapters(load_settings(**aws)).auto_starter, NoAutoStart)
    with_function = load_settings(**aws, producer_api={"auto_start_function": "fn"})
    assert isinstance(Adapters(with_function).auto_starter, LambdaAutoStarter)
