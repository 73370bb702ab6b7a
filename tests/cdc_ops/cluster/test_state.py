"""Cluster state: the RDS mapping (pure), RDS through moto, and the local PostgreSQL."""

from __future__ import annotations

import pytest

from cdc_ops.adapters import Adapters
from cdc_ops.cluster.state import ClusterMember, RdsClusterObserver, cluster_state_from_rds
from cdc_ops.settings import Settings, load_settings
from cdc_ops.tools.stack import Stack
from cdc_ops.tools.stack.adapters import LocalClusterObserver
from cdc_ops.tools.stack.scratch import scratch_state_dir


def test_rds_description_maps_to_state() -> None:
    state = cluster_state_from_rds(
        "c1",
        {
            "Status": "stopped",
            "Engine": "aurora-postgresql",
            "EngineVersion": "15.4",
            "Endpoint": "c1.cluster-x.us-east-1.rds.amazonaws.com",
            "Port": 5432,
            "DBClusterMembers": [
                {"DBInstanceIdentifier": "c1-1", "IsClusterWriter": True},
                {"DBInstanceIdentifier": "c1-2", "IsClusterWriter": False},
            ],
            "TagList": [{"Key": "environment", "Value": "test"}],
        },
    )
    assert state.status == "stopped"
    assert state.endpoint == "c1.cluster-x.us-east-1.rds.amazonaws.com:5432"
    assert state.members == (ClusterMember("c1-1", True), ClusterMember("c1-2", False))
    assert state.tags == {"environment": "test"}
    assert cluster_state_from_rds("gone", None).status == "absent"


def test_observer_follows_the_env_setting() -> None:
    assert isinstance(Adapters(load_settings()).cluster_observer, LocalClusterObserver)
    aws = load_settings(
        env="aws",
        database={"cluster_host": "h", "password": "p"},
        kafka={"bootstrap_servers": "b:9092"},
    )
    assert isinstance(Adapters(aws).cluster_observer, RdsClusterObserver)


@pytest.mark.e2e
def test_rds_observer_against_moto(local_stack: Stack) -> None:
    settings = local_stack.settings
    rds = Adapters(settings).aws("rds")
    state = RdsClusterObserver(rds, settings.names.cluster_id).observe()
    assert (state.cluster_id, state.status, state.engine) == (
        settings.names.cluster_id,
        "available",
        "aurora-postgresql",
    )
    assert state.members == (ClusterMember(f"{settings.names.cluster_id}-1", True),)
    assert RdsClusterObserver(rds, "no-such-cluster").observe().status == "absent"


@pytest.mark.e2e
def test_local_observer_sees_the_real_postgres(
    local_stack: Stack, stack_settings: Settings
) -> None:
    state = Adapters(local_stack.settings).cluster_observer.observe()
    assert state.status == "available"
    assert state.engine_version == "15 (local)"
    assert state.tags["environment"] == "test"  # metadata from the cluster seeded in moto
    assert state.endpoint == f"127.0.0.1:{stack_settings.local.ports.postgres}"
    # a state directory where nothing runs: the cluster is stopped
    idle = stack_settings.model_copy(deep=True)
    idle.local.state_dir = scratch_state_dir("cdc-ops-test-idle-")
    assert Adapters(idle).cluster_observer.observe().status == "stopped"
