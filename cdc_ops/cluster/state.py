"""What state the Aurora cluster is in, read from RDS (aws) or the local PostgreSQL (local).

Locally the cluster's metadata (engine mode, tags, recorded actions) comes from the aurora
cluster seeded in moto, and its status from the stack's real PostgreSQL process.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import psycopg

from cdc_ops.clients.aws import client
from cdc_ops.settings import Environment, Settings

ABSENT = "absent"
# Tags through which every action of the control plane on the cluster is recorded.
TAG_LAST_ACTION = "cdc-ops:last-action"
TAG_LAST_ACTION_AT = "cdc-ops:last-action-at"
TAG_LAST_ACTION_REASON = "cdc-ops:last-action-reason"


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
        action, at = self.tags.get(TAG_LAST_ACTION), self.tags.get(TAG_LAST_ACTION_AT)
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
    def __init__(self, settings: Settings) -> None:
        self._rds = client("rds", settings)
        self._cluster_id = settings.names.cluster_id

    def observe(self) -> ClusterState:
        return describe_rds_cluster(self._rds, self._cluster_id)


def local_postgres_status(settings: Settings) -> str:
    """available when the stack's PostgreSQL answers, stopped when its process is not running;
    while the process lives but does not answer, stopping or starting as the postmaster says."""
    from cdc_ops.tools.stack import Stack  # the stack is a local-only concern

    stack = Stack(settings)
    postgres = stack.component("postgres")
    if not stack.running(postgres):
        return "stopped"
    try:
        with psycopg.connect(postgres.superuser_conninfo(), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return _postmaster_state(postgres.data_dir)
    return "available"


def _postmaster_state(data_dir: Path) -> str:
    """The postmaster's own word on what it is doing: the 8th line of postmaster.pid is
    "starting", "stopping", "ready" or "standby" (PostgreSQL's pidfile.h)."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return "stopped"
    state = lines[7].strip() if len(lines) > 7 else ""
    return "stopping" if state == "stopping" else "starting"


def local_view(settings: Settings, metadata: ClusterState) -> ClusterState:
    """The local cluster as every reader sees it: the stack's PostgreSQL (status, engine,
    endpoint, member), with moto's cluster supplying only the record (ARN, mode, tags)."""
    endpoint = f"{settings.database.cluster_host}:{settings.database.cluster_port}"
    return replace(
        metadata,
        status=local_postgres_status(settings),
        engine="postgresql",
        engine_version=_local_version(settings),
        endpoint=endpoint,
        reader_endpoint="",
        members=(ClusterMember(f"{settings.names.cluster_id}-local", writer=True),),
        observed_via="local postgres",
    )


class LocalClusterObserver:
    """The local PostgreSQL is the cluster; moto's seeded cluster carries its metadata."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def observe(self) -> ClusterState:
        settings = self._settings
        try:
            metadata = describe_rds_cluster(client("rds", settings), settings.names.cluster_id)
        except Exception:  # noqa: BLE001 - moto not running: the process state still counts
            metadata = ClusterState(settings.names.cluster_id, ABSENT)
        return local_view(settings, metadata)


def _local_version(settings: Settings) -> str:
    version = settings.local.postgres_bin_dir.parent.name
    return f"{version} (local)"


def cluster_observer(settings: Settings) -> ClusterObserver:
    if settings.env is Environment.LOCAL:
        return LocalClusterObserver(settings)
    return RdsClusterObserver(settings)
