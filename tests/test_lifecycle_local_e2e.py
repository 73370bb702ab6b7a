"""The whole lifecycle on the local stack: idle → the schedule's job really stops PostgreSQL →
a request gets 503 → auto-start really starts it → a retry succeeds."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from dagster import DagsterInstance, materialize

from assets.keys import AURORA_CLUSTER
from assets.resources import CdcOpsResource
from assets.uptime import cluster_uptime
from cdc_ops.adapters import Adapters
from cdc_ops.settings import Settings, load_settings
from cdc_ops.tools.stack import Stack
from cdc_ops.tools.stack.scratch import free_ports
from tests.conftest import ROOT
from tests.helpers import start_api_server

pytestmark = pytest.mark.e2e

# long enough that a loaded machine still runs the "busy" check inside it
WINDOW_S = 8


@pytest.fixture
def lifecycle_stack(scratch_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.setenv("CDC_OPS_AUTO_STOP__INACTIVITY_WINDOW_H", str(WINDOW_S / 3600))
    monkeypatch.setenv("CDC_OPS_AUTO_STOP__METRIC_PERIOD_S", "1")
    monkeypatch.setenv("CDC_OPS_PRODUCER_API__POOL_TIMEOUT_S", "2")
    monkeypatch.setenv("CDC_OPS_DATABASE__CONNECT_TIMEOUT_S", "1")
    stack = Stack(load_settings())
    stack.up(["postgres", "pgbouncer", "moto"])
    yield stack


@pytest.fixture
def api_url(lifecycle_stack: Stack) -> Iterator[str]:
    (port,) = free_ports(1)
    proc, url = start_api_server(lifecycle_stack.settings.state_dir, port)
    yield url
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def post_event(url: str) -> httpx.Response:
    uid = f"evt-{uuid.uuid4().hex[:10]}"
    event = {
        "eventHeader": {"uuid": uid, "eventName": "CarCreated", "eventType": "CarCreated"},
        "eventBody": {"entities": [{"entityType": "Car", "entityId": f"car-{uid}"}]},
    }
    return httpx.post(f"{url}/api/v1/events", json=event, timeout=30)


def run_auto_stop_job(instance: DagsterInstance) -> dict[str, Any]:
    from definitions import defs

    schedule = defs.resolve_schedule_def("auto_stop_hourly")
    assert schedule.job_name == "auto_stop_job" and schedule.cron_schedule == "0 * * * *"
    result = defs.resolve_job_def(schedule.job_name).execute_in_process(instance=instance)
    assert result.success
    metadata = {}
    for event in result.all_node_events:
        if event.event_type_value == "STEP_OUTPUT":
            metadata = {k: v.value for k, v in event.step_output_data.metadata.items()}
    return metadata


def test_idle_stop_then_request_starts_it_again(lifecycle_stack: Stack, api_url: str) -> None:
    postgres = lifecycle_stack.component("postgres")
    instance = DagsterInstance.ephemeral()

    assert post_event(api_url).status_code == 201
    # the server publishes its request count about once a second, from a background thread:
    # wait until CloudWatch (moto) has it, however loaded the machine is
    reader = Adapters(load_settings()).activity_reader
    deadline = time.monotonic() + 30
    while reader.read(datetime.now(UTC), timedelta(seconds=WINDOW_S)).requests == 0:
        assert time.monotonic() < deadline, "the request never showed in AWS/ApiGateway Count"
        time.sleep(0.2)
    busy = run_auto_stop_job(instance)
    assert busy["decision"] == "keep running"
    assert f"API request(s) in the last {WINDOW_S}s" in busy["reason"]
    assert lifecycle_stack.running(postgres)

    time.sleep(WINDOW_S + 2)  # no requests for the (shortened) window
    idle = run_auto_stop_job(instance)
    assert (idle["decision"], idle["action_taken"]) == ("stop", "stop")
    assert idle["reason"] == f"no API request in the last {WINDOW_S}s"
    assert not lifecycle_stack.running(postgres)  # really stopped

    answer = post_event(api_url)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "120"
    assert answer.json()["error"] == "Service Temporarily Unavailable"
    assert lifecycle_stack.running(postgres)  # auto-start really started it

    deadline = time.monotonic() + 30
    while (status := post_event(api_url).status_code) != 201:
        assert status == 503 and time.monotonic() < deadline
        time.sleep(0.5)

    # the state history and the uptime figures come from the cluster's observations
    records = instance.fetch_observations(AURORA_CLUSTER, limit=10).records
    statuses = [r.asset_observation.metadata["status"].value for r in records]
    assert statuses == ["stopped", "available"]  # newest first
    time.sleep(1)
    uptime = materialize(
        [cluster_uptime], instance=instance, resources={"cdc_ops": CdcOpsResource()}
    )
    figures = uptime.asset_materializations_for_node("cluster_uptime")[0].metadata
    # the Plots tab draws exactly two series, running and stopped hours over the last day
    plotted = {k for k, v in figures.items() if isinstance(v.value, int | float)}
    assert plotted == {"running_hours_24h", "stopped_hours_24h"}
    # seconds of history: the hours round to 0.00, the share does not
    week = next(r.data for r in figures["windows"].value.records if r.data["window"] == "7d")
    assert 0 < float(week["stopped"].rstrip(" %")) < 100
    assert week["unknown_h"] > 167.9
    assert figures["observations"].value == "2"


def test_cluster_commands_stop_and_start_for_real(lifecycle_stack: Stack) -> None:
    cli = str(ROOT / ".venv/bin/cdc-ops")
    postgres = lifecycle_stack.component("postgres")

    def run(*args: str) -> str:
        out = subprocess.run([cli, "cluster", *args], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return " ".join(out.stdout.split())

    # this stack runs no Connect worker: the connector's stop fails, the cluster's goes on
    stopped = run("stop", "--reason", "maintenance")
    assert stopped.startswith("stop: stopped (was available) connector not stopped (RestError: ")
    assert not lifecycle_stack.running(postgres)
    assert run("stop") == "stop: already stopped (was stopped)"
    status = run("status", "-o", "json")
    assert '"status": "stopped"' in status and '"reason": "manual: maintenance"' in status
    assert run("auto-stop", "--dry-run").startswith(
        "nothing to do: the cluster is stopped; auto-stop acts only on available"
    )
    assert run("start") == "start: started (was stopped)"
    assert lifecycle_stack.running(postgres)
    assert "started by cdc-ops at" in run("auto-stop", "--dry-run")
