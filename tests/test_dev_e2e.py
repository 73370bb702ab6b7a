"""`cdc-ops dev` for real: the Dagster UI comes up with the asset graph and SIGTERM stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

from cdc_ops.tools.stack import Stack, State
from cdc_ops.tools.stack.scratch import free_ports
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

ASSET_NODES = "{ assetNodes { assetKey { path } dependencyKeys { path } } }"


def _wait_for_graphql(url: str, proc: subprocess.Popen[bytes], timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "cdc-ops dev exited during start-up"
        try:
            answer = httpx.post(url, json={"query": ASSET_NODES}, timeout=5)
            if answer.status_code == 200 and answer.json().get("data"):
                return answer.json()["data"]
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"no GraphQL answer from {url} within {timeout_s}s")


def test_dev_serves_the_asset_graph_and_stops_on_sigterm(local_stack: Stack) -> None:
    (port,) = free_ports(1)
    log = local_stack.settings.state_dir / "logs" / "dev-test.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CDC_OPS_DAGSTER__PORT": str(port)}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "cdc-ops"), "dev"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        data = _wait_for_graphql(f"http://127.0.0.1:{port}/graphql", proc, timeout_s=120)
        graph = {
            "/".join(n["assetKey"]["path"]): ["/".join(d["path"]) for d in n["dependencyKeys"]]
            for n in data["assetNodes"]
        }
        assert graph["aurora_cluster"] == []
        assert graph["replication_slot"] == ["aurora_cluster"]
        assert graph["cdc_connector"] == ["replication_slot"]
        assert graph["kafka_topics/raw_business_events"] == ["cdc_connector"]
        assert graph["cluster_uptime"] == ["aurora_cluster"]
        assert graph["rds_proxy"] == ["aurora_cluster"]
        assert graph["flink_statements/cdc_filter_car_created"] == [
            "kafka_topics/raw_business_events"
        ]
        assert graph["kafka_topics/filtered_car_created_events"] == [
            "flink_statements/cdc_filter_car_created"
        ]
        assert graph["consumer_groups/car_consumer_group"] == [
            "kafka_topics/filtered_car_created_events"
        ]
        assert sorted(graph["pipeline_health"]) == [
            "consumer_groups/car_consumer_group",
            "consumer_groups/loan_consumer_group",
            "consumer_groups/loan_payment_consumer_group",
            "consumer_groups/service_consumer_group",
            "kafka_topics/raw_business_events",
            "pipeline_latency/car_created",
            "pipeline_latency/loan_created",
            "pipeline_latency/loan_payment_submitted",
            "pipeline_latency/service_events",
            "rds_proxy",
        ]
        # the canary times each route to its filtered topic
        assert graph["pipeline_latency/car_created"] == ["kafka_topics/filtered_car_created_events"]
        assert len(graph) == 23

        home = local_stack.settings.dagster_home
        assert len(_processes_with_dagster_home(home)) >= 3  # dagster dev, webserver, daemon
        assert yaml.safe_load((home / "dagster.yaml").read_text())["telemetry"] == {
            "enabled": False
        }
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        code = proc.wait(timeout=90)
    assert code == 0, Path(log).read_text()[-3000:]
    # dagster dev and everything it started (webserver, daemon, code servers) are gone too
    assert not _processes_with_dagster_home(local_stack.settings.dagster_home)
    # dev did not start the stack, so it leaves it running
    assert all(r.state is State.RUNNING for r in local_stack.status())


def _processes_with_dagster_home(home: Path) -> list[int]:
    marker = f"DAGSTER_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if marker in environ and state not in ("Z", "X"):
                found.append(int(entry.name))
    return found
