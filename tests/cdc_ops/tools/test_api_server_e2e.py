"""`cdc-ops api serve` for real: curl-able, and each request counted in (moto's) CloudWatch."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from cdc_ops.clients.aws import client
from cdc_ops.tools.stack import Stack
from cdc_ops.tools.stack.scratch import free_ports
from tests.helpers import start_api_server

pytestmark = pytest.mark.e2e


def test_serve_answers_http_and_publishes_api_gateway_count(local_stack: Stack) -> None:
    (port,) = free_ports(1)
    settings = local_stack.settings
    started = datetime.now(UTC) - timedelta(minutes=1)
    proc, base = start_api_server(settings.state_dir, port)
    try:
        event = {
            "eventHeader": {
                "uuid": "evt-http-1",
                "eventName": "CarCreated",
                "eventType": "CarCreated",
            },
            "eventBody": {"entities": [{"entityType": "Car", "entityId": "car-http-1"}]},
        }
        created = httpx.post(f"{base}/api/v1/events", json=event, timeout=10)
        assert (created.status_code, created.json()["id"]) == (201, "evt-http-1")
        got = httpx.get(f"{base}/api/v1/events/evt-http-1", timeout=10)
        assert got.status_code == 200 and got.json() == event
        assert httpx.get(f"{base}/nowhere", timeout=10).status_code == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0  # stopping flushes the last datapoints
    stats = client("cloudwatch", settings).get_metric_statistics(
        Namespace="AWS/ApiGateway",
        MetricName="Count",
        Dimensions=[{"Name": "ApiName", "Value": settings.names.api_name}],
        StartTime=started,
        EndTime=datetime.now(UTC) + timedelta(minutes=1),
        Period=60,
        Statistics=["Sum"],
    )
    assert sum(p["Sum"] for p in stats["Datapoints"]) >= 4  # the probe(s) plus three requests
