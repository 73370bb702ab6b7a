"""What state the Aurora cluster is in, read from RDS (aws) or the local PostgreSQL (local)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg

from cdc_ops.aws import client
from cdc_ops.settings import Environment, Settings

ABSENT = "absent"


@dataclass(frozen=True)
class ClusterMember:
    instance_id: str
    writer: bool


@dataclass(frozen=True)
class ClusterState:
    cluster_id: str
    status: str  # RDS's vocabulary: available, stopped, starting, stopping, ... or "absent"
    engine: str = ""
    engine_version: str = ""
    endpoint: str = ""
    reader_endpoint: str = ""
    members: tuple[ClusterMember, ...] = ()
    observed_via: str = ""
    tags: dict[str, str] = field(default_factory=dict)


class ClusterObserver(Protocol):
    def observe(self) -> ClusterState: ...


def cluster_state_from_rds(cluster_id: str, described: dict[str, Any] | None) -> ClusterState:
    """Map one DescribeDBClusters entry (or None when not found) to a ClusterState."""
    if described is None:
        return ClusterState(cluster_id, ABSENT, observed_via="rds")
    endpoint = described.get("Endpoint", "")
    port = described.get("Port")
    return ClusterState(
        cluster_id=cluster_id,
        status=described.get("Status", "unknown"),
        engine=described.get("Engine", ""),
        engine_version=described.get("EngineVersion", ""),
        endpoint=f"{endpoint}:{port}" if endpoint and port else endpoint,
        reader_endpoint=described.get("ReaderEndpoint", ""),
        members=tuple(
            ClusterMember(m["DBInstanceIdentifier"], bool(m.get("IsClusterWriter")))
            for m in described.get("DBClusterMembers", [])
        ),
        observed_via="rds",
        tags={t["Key"]: t["Value"] for t in described.get("TagList", [])},
    )


class RdsClusterObserver:
    def __init__(self, settings: Settings) -> None:
        self._rds = client("rds", settings)
        self._cluster_id = settings.names.cluster_id

    def observe(self) -> ClusterState:
        found = self._rds.describe_db_clusters(
            Filters=[{"Name": "db-cluster-id", "Values": [self._cluster_id]}]
        )["DBClusters"]
        return cluster_state_from_rds(self._cluster_id, found[0] if found else None)


class LocalClusterObserver:
    """The local PostgreSQL is the cluster: answering means available, a dead process stopped."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def observe(self) -> ClusterState:
        from cdc_ops.stack import Stack  # the stack is a local-only concern

        settings = self._settings
        stack = Stack(settings)
        postgres = stack.component("postgres")
        endpoint = f"{settings.database.cluster_host}:{settings.database.cluster_port}"
        member = (ClusterMember(f"{settings.names.cluster_id}-local", writer=True),)
        base = dict(engine="postgresql", endpoint=endpoint, members=member,
                    observed_via="local postgres")  # fmt: skip
        if not stack.running(postgres):
            return ClusterState(settings.names.cluster_id, "stopped", **base)
        try:
            with psycopg.connect(postgres.superuser_conninfo(), connect_timeout=3) as conn:
                row = conn.execute(
                    "SELECT current_setting('server_version'), pg_is_in_recovery()"
                ).fetchone()
        except psycopg.OperationalError:
            # the process lives but does not answer yet: starting up or shutting down
            return ClusterState(settings.names.cluster_id, "starting", **base)
        version, _in_recovery = row
        return ClusterState(settings.names.cluster_id, "available", engine_version=version, **base)


def cluster_observer(settings: Settings) -> ClusterObserver:
    if settings.env is Environment.LOCAL:
        return LocalClusterObserver(settings)
    return RdsClusterObserver(settings)
