"""What state the Aurora cluster is in, read from RDS (aws) or the local PostgreSQL (local).

Locally the cluster's metadata (engine mode, tags, recorded actions) comes from the aurora
cluster seeded in moto, and its status from the stack's real PostgreSQL process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from cdc_ops.states import ABSENT

# Tags through which every action of the control plane on the cluster is recorded.
TAG_LAST_ACTION = "cdc-ops:last-action"
TAG_LAST_ACTION_AT = "cdc-ops:last-action-at"
TAG_LAST_ACTION_REASON = "cdc-ops:last-action-reason"
# What cdc-ops did to the CDC connector around a stop of the cluster: "stopped" before stopping
# it (resumed once the cluster is available again), "resumed", or "stop failed"
TAG_CONNECTOR_ACTION = "cdc-ops:connector-action"
TAG_CONNECTOR_ACTION_AT = "cdc-ops:connector-action-at"


@dataclass(frozen=True)
class ClusterMember:
    instance_id: str
    writer: bool


@dataclass(frozen=True)
class RecordedAction:
    action: str  # "stop" or "start"
    at: datetime
    reason: str


@dataclass(frozen=True)
class ClusterState:
    cluster_id: str
    status: str  # RDS's vocabulary: available, stopped, starting, stopping, ... or "absent"
    engine: str = ""
    engine_version: str = ""
    engine_mode: str = ""
    endpoint: str = ""
    reader_endpoint: str = ""
    arn: str = ""
    members: tuple[ClusterMember, ...] = ()
    observed_via: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    global_cluster_id: str | None = None
    blue_green_id: str | None = None

    @property
    def last_action(self) -> RecordedAction | None:
        return self._recorded(TAG_LAST_ACTION, TAG_LAST_ACTION_AT)

    @property
    def connector_action(self) -> RecordedAction | None:
        """What cdc-ops last did to the connector around a stop (the reason is the stop's)."""
        return self._recorded(TAG_CONNECTOR_ACTION, TAG_CONNECTOR_ACTION_AT)

    def _recorded(self, action_tag: str, at_tag: str) -> RecordedAction | None:
        action, at = self.tags.get(action_tag), self.tags.get(at_tag)
        if not action or not at:
            return None
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            return None
        return RecordedAction(action, when, self.tags.get(TAG_LAST_ACTION_REASON, ""))


class ClusterObserver(Protocol):
    def observe(self) -> ClusterState: ...


def cluster_state_from_rds(
    cluster_id: str,
    described: dict[str, Any] | None,
    global_clusters: list[dict[str, Any]] = (),  # type: ignore[assignment]
    blue_green: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> ClusterState:
    """Map DescribeDBClusters (one entry, or None when not found), DescribeGlobalClusters and
    DescribeBlueGreenDeployments answers to a ClusterState."""
    if described is None:
        return ClusterState(cluster_id, ABSENT, observed_via="rds")
    arn = described.get("DBClusterArn", "")
    endpoint = described.get("Endpoint", "")
    port = described.get("Port")
    global_id = next(
        (
            g.get("GlobalClusterIdentifier")
            for g in global_clusters
            if any(m.get("DBClusterArn") == arn for m in g.get("GlobalClusterMembers", []))
        ),
        None,
    )
    blue_green_id = next(
        (
            d.get("BlueGreenDeploymentIdentifier")
            for d in blue_green
            if arn in (d.get("Source"), d.get("Target"))
            and d.get("Status") not in ("SWITCHOVER_COMPLETED", "DELETING")
        ),
        None,
    )
    return ClusterState(
        cluster_id=cluster_id,
        status=described.get("Status", "unknown"),
        engine=described.get("Engine", ""),
        engine_version=described.get("EngineVersion", ""),
        engine_mode=described.get("EngineMode", "provisioned"),
        endpoint=f"{endpoint}:{port}" if endpoint and port else endpoint,
        reader_endpoint=described.get("ReaderEndpoint", ""),
        arn=arn,
        members=tuple(
            ClusterMember(m["DBInstanceIdentifier"], bool(m.get("IsClusterWriter")))
            for m in described.get("DBClusterMembers", [])
        ),
        observed_via="rds",
        tags={t["Key"]: t["Value"] for t in described.get("TagList", [])},
        global_cluster_id=global_id,
        blue_green_id=blue_green_id,
    )


def describe_rds_cluster(rds: Any, cluster_id: str) -> ClusterState:
    # By identifier, not by filter: IAM can then scope rds:DescribeDBClusters to this cluster's
    # ARN (terraform/modules/*); a filtered call is authorised against every cluster.
    try:
        found = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"]
    except rds.exceptions.DBClusterNotFoundFault:
        found = []
    if not found:
        return cluster_state_from_rds(cluster_id, None)
    return cluster_state_from_rds(
        cluster_id,
        found[0],
        rds.describe_global_clusters().get("GlobalClusters", []),
        rds.describe_blue_green_deployments().get("BlueGreenDeployments", []),
    )


class RdsClusterObserver:
    def __init__(self, rds: Any, cluster_id: str) -> None:
        self._rds = rds
        self._cluster_id = cluster_id

    def observe(self) -> ClusterState:
        return describe_rds_cluster(self._rds, self._cluster_id)
