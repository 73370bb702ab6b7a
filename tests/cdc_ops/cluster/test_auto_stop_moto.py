"""Auto-stop and auto-start against moto's RDS and CloudWatch, on a controllable clock."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config

from cdc_ops.clients.aws import client
from cdc_ops.cluster.activity import ApiActivityReader
from cdc_ops.cluster.auto_stop import Action, Policy, run_auto_stop
from cdc_ops.cluster.control import ClusterController, RdsPower, auto_start
from cdc_ops.cluster.state import TAG_LAST_ACTION, TAG_LAST_ACTION_REASON
from cdc_ops.tools.stack import Stack

pytestmark = pytest.mark.e2e
HOUR = timedelta(hours=1)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def rds(local_stack: Stack) -> Any:
    return client("rds", local_stack.settings)


@pytest.fixture
def cluster_id(rds: Any) -> Iterator[str]:
    """A fresh aurora-postgresql cluster in moto for each test."""
    name = f"auto-stop-{uuid.uuid4().hex[:8]}"
    rds.create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-postgresql",
        MasterUsername="u",
        MasterUserPassword="password1",
    )
    yield name


@pytest.fixture
def t0() -> datetime:
    # hour 0 of the seed's example: five hours ago, on a 5-minute boundary
    now = datetime.now(UTC) - 5 * HOUR
    return now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)


def setup(local_stack: Stack, rds: Any, cluster_id: str, clock: Clock, **policy: Any):
    api_name = f"api-{cluster_id}"
    controller = ClusterController(rds, cluster_id, RdsPower(rds), clock)
    reader = ApiActivityReader(client("cloudwatch", local_stack.settings), api_name, 300)
    kw = (
        dict(
            environment="test",
            environments=("test",),
            window=3 * HOUR,
            opt_out_tag="cdc-ops:auto-stop",
        )
        | policy
    )
    return controller, reader, Policy(**kw), api_name


def requests_at(local_stack: Stack, api_name: str, at: datetime, count: int) -> None:
    client("cloudwatch", local_stack.settings).put_metric_data(
        Namespace="AWS/ApiGateway",
        MetricData=[
            {
                "MetricName": "Count",
                "Dimensions": [{"Name": "ApiName", "Value": api_name}],
                "Timestamp": at,
                "Value": count,
                "Unit": "Count",
            }
        ],
    )


def status(rds: Any, cluster_id: str) -> str:
    return rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]["Status"]


def test_the_seeds_hour_by_hour_example(local_stack, rds, cluster_id, t0) -> None:
    clock = Clock(t0)
    controller, reader, policy, api = setup(local_stack, rds, cluster_id, clock)
    requests_at(local_stack, api, t0 - timedelta(minutes=2), 25)  # hour 0: requests

    seen = {}
    for offset in (HOUR, 2 * HOUR, 3 * HOUR - timedelta(minutes=1), 3 * HOUR):
        clock.now = t0 + offset
        run = run_auto_stop(controller, reader, policy, clock)
        seen[offset] = run.decision.action
        if offset < 3 * HOUR:
            assert run.decision.reason.startswith("25 API request(s) in the last 3h")
            assert status(rds, cluster_id) == "available"
    assert seen == {
        HOUR: Action.KEEP_RUNNING,
        2 * HOUR: Action.KEEP_RUNNING,
        3 * HOUR - timedelta(minutes=1): Action.KEEP_RUNNING,
        3 * HOUR: Action.STOP,
    }
    assert status(rds, cluster_id) == "stopped"
    tags = controller.describe().tags
    assert tags[TAG_LAST_ACTION] == "stop"
    assert tags[TAG_LAST_ACTION_REASON] == "auto-stop: no API request in the last 3h"

    # hour 4: stopped, and asking again changes nothing
    clock.now = t0 + 4 * HOUR
    again = run_auto_stop(controller, reader, policy, clock)
    assert (again.decision.action, again.result) == (Action.NOTHING, None)
    assert controller.stop("again").outcome == "already stopped"


def test_fail_safe_when_cloudwatch_is_unreachable(local_stack, rds, cluster_id, t0) -> None:
    clock = Clock(t0)
    controller, _, policy, api = setup(local_stack, rds, cluster_id, clock)
    dead = boto3.client(
        "cloudwatch",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    run = run_auto_stop(controller, ApiActivityReader(dead, api, 300), policy, clock)
    assert run.decision.action is Action.KEEP_RUNNING
    assert run.decision.reason.startswith("fail safe: API activity could not be read")
    assert "EndpointConnectionError" in run.decision.reason
    assert status(rds, cluster_id) == "available"


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_environment_guard(local_stack, rds, cluster_id, t0, environment) -> None:
    clock = Clock(t0)
    controller, reader, policy, _ = setup(
        local_stack, rds, cluster_id, clock, environment=environment
    )
    assert run_auto_stop(controller, reader, policy, clock).decision.action is Action.KEEP_RUNNING
    assert status(rds, cluster_id) == "available"


def test_opt_out_tag(local_stack, rds, cluster_id, t0) -> None:
    arn = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]["DBClusterArn"]
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "cdc-ops:auto-stop", "Value": "off"}])
    clock = Clock(t0)
    controller, reader, policy, _ = setup(local_stack, rds, cluster_id, clock)
    run = run_auto_stop(controller, reader, policy, clock)
    assert run.decision.reason == "the cluster opted out with tag cdc-ops:auto-stop=off"
    assert status(rds, cluster_id) == "available"


def test_unstoppable_clusters(local_stack, rds, cluster_id, t0) -> None:
    clock = Clock(t0)
    serverless = f"{cluster_id}-v1"
    rds.create_db_cluster(
        DBClusterIdentifier=serverless,
        Engine="aurora-postgresql",
        EngineMode="serverless",
        MasterUsername="u",
        MasterUserPassword="password1",
    )
    controller, reader, policy, _ = setup(local_stack, rds, serverless, clock)
    assert run_auto_stop(controller, reader, policy, clock).decision.reason == (
        "Aurora Serverless v1 clusters cannot be stopped"
    )

    arn = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]["DBClusterArn"]
    rds.create_global_cluster(
        GlobalClusterIdentifier=f"g-{cluster_id}", SourceDBClusterIdentifier=arn
    )
    controller, reader, policy, _ = setup(local_stack, rds, cluster_id, clock)
    run = run_auto_stop(controller, reader, policy, clock)
    assert run.decision.reason == f"member of global database g-{cluster_id}: cannot be stopped"
    assert status(rds, cluster_id) == "available"
    rds.remove_from_global_cluster(
        GlobalClusterIdentifier=f"g-{cluster_id}", DbClusterIdentifier=arn
    )
    rds.delete_global_cluster(GlobalClusterIdentifier=f"g-{cluster_id}")

    blue_green = rds.create_blue_green_deployment(
        BlueGreenDeploymentName=f"bg-{cluster_id}", Source=arn
    )["BlueGreenDeployment"]
    run = run_auto_stop(controller, reader, policy, clock)
    assert run.decision.reason == (
        f"part of blue/green deployment {blue_green['BlueGreenDeploymentIdentifier']}:"
        " cannot be stopped"
    )
    assert status(rds, cluster_id) == "available"


def test_the_seven_day_restart_is_stopped_again(local_stack, rds, cluster_id, t0) -> None:
    clock = Clock(t0 - 8 * 24 * HOUR)
    controller, reader, policy, _ = setup(local_stack, rds, cluster_id, clock)
    assert run_auto_stop(controller, reader, policy, clock).decision.action is Action.STOP
    assert status(rds, cluster_id) == "stopped"

    # seven days later AWS starts it again, without cdc-ops asking
    rds.start_db_cluster(DBClusterIdentifier=cluster_id)
    assert status(rds, cluster_id) == "available"
    clock.now = t0 - 24 * HOUR + HOUR
    run = run_auto_stop(controller, reader, policy, clock)
    assert run.decision.action is Action.STOP
    assert "AWS restarts a cluster that has been stopped for 7 days" in run.decision.reason
    assert run.result is not None and run.result.performed
    assert status(rds, cluster_id) == "stopped"


def test_stop_and_start_are_idempotent_and_auto_start_reports(local_stack, rds, cluster_id) -> None:
    controller = ClusterController(rds, cluster_id, RdsPower(rds))
    assert auto_start(controller, "request")["status"] == "already available"
    first, second = controller.stop("manual"), controller.stop("manual")
    assert (first.performed, first.outcome) == (True, "stopped")
    assert (second.performed, second.outcome) == (False, "already stopped")
    assert auto_start(controller, "request") == {
        "status": "started",
        "cluster_status": "stopped",
        "reason": "request",
    }
    assert auto_start(controller, "request")["status"] == "already available"
    last = controller.describe().last_action
    assert last is not None and (last.action, last.reason) == ("start", "request")


def test_an_unknown_cluster_is_absent_not_an_error(rds: Any) -> None:
    # described by identifier (so IAM can be scoped to the one cluster): RDS answers a missing
    # cluster with DBClusterNotFoundFault, which means "absent"
    from cdc_ops.cluster.state import ABSENT, describe_rds_cluster

    state = describe_rds_cluster(rds, "cdc-streaming-test-no-such-cluster")
    assert state.status == ABSENT
