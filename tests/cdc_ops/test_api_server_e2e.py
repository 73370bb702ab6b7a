"""`cdc-ops api serve` for real: curl-able, and each request counted in (moto's) CloudWatch."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from cdc_ops.aws import client
from cdc_ops.stack import Stack
from cdc_ops.stack.scratch import free_ports
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


def test_serve_answers_http_and_publishes_api_gateway_count(local_stack: Stack) -> None:
    (port,) = free_ports(1)
    settings = local_stack.settings
    log = settings.state_dir / "logs" / "api-serve-test.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/cdc-ops"), "api", "serve", "--port", str(port)],
            env=os.environ.copy(), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    started = datetime.now(UTC) - timedelta(minutes=1)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/cars?limit=1", timeout=5)
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        event = {
            "eventHeader": {
                "uuid": "evt-http-1",
                "eventName": "CarCreated",
                "eventType": "CarCreated",
            },  # fmt: skip
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
