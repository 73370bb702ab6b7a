"""The local stack standing in for AWS: its PostgreSQL as the Aurora cluster (observed, stopped
and started for real, with moto's cluster as the record) and its PgBouncer as RDS Proxy.

Only the composition root (cdc_ops.adapters) builds these, for env=local.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from botocore.exceptions import ClientError

from cdc_ops.cluster.state import ABSENT, ClusterMember, ClusterState, describe_rds_cluster
from cdc_ops.proxy.saturation import ProxyFigures
from cdc_ops.settings import Settings
from cdc_ops.tools.stack.stack import Stack


def local_postgres_status(stack: Stack) -> str:
    """available when the stack's PostgreSQL answers, stopped when its process is not running;
    while the process lives but does not answer, stopping or starting as the postmaster says."""
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


def local_view(stack: Stack, metadata: ClusterState) -> ClusterState:
    """The local cluster as every reader sees it: the stack's PostgreSQL (status, engine,
    endpoint, member), with moto's cluster supplying only the record (ARN, mode, tags)."""
    settings = stack.settings
    endpoint = f"{settings.database.cluster_host}:{settings.database.cluster_port}"
    return replace(
        metadata,
        status=local_postgres_status(stack),
        engine="postgresql",
        engine_version=_local_version(settings),
        endpoint=endpoint,
        reader_endpoint="",
        members=(ClusterMember(f"{settings.names.cluster_id}-local", writer=True),),
        observed_via="local postgres",
    )


class LocalClusterObserver:
    """The local PostgreSQL is the cluster; moto's seeded cluster carries its metadata."""

    def __init__(self, stack: Stack, rds: Any) -> None:
        self._stack = stack
        self._rds = rds

    def observe(self) -> ClusterState:
        settings = self._stack.settings
        try:
            metadata = describe_rds_cluster(self._rds, settings.names.cluster_id)
        except Exception:  # noqa: BLE001 - moto not running: the process state still counts
            metadata = ClusterState(settings.names.cluster_id, ABSENT)
        return local_view(self._stack, metadata)


def _local_version(settings: Settings) -> str:
    version = settings.local.postgres_bin_dir.parent.name
    return f"{version} (local)"


class LocalPower:
    """The stack's PostgreSQL is really stopped and started; moto's cluster follows."""

    name = "local postgres"

    def __init__(self, stack: Stack, rds: Any) -> None:
        self._stack = stack
        self._rds = rds

    def view(self, state: ClusterState) -> ClusterState:
        # one state, one schema: the same view the pipeline observation shows
        return local_view(self._stack, state)

    def _follow(self, call: Callable[..., Any], state: ClusterState) -> None:
        try:
            call(DBClusterIdentifier=state.cluster_id)
        except ClientError as exc:  # already there: moto is only the record here
            if exc.response["Error"]["Code"] != "InvalidDBClusterStateFault":
                raise

    def stop(self, state: ClusterState) -> None:
        self._stack.down(["postgres"])
        self._follow(self._rds.stop_db_cluster, state)

    def start(self, state: ClusterState) -> None:
        self._stack.up(["postgres"])
        self._follow(self._rds.start_db_cluster, state)


class PgBouncerProxyReader:
    """Locally PgBouncer stands for the proxy: SHOW POOLS of the application database."""

    def __init__(self, stack: Stack) -> None:
        settings = stack.settings
        self._bouncer = stack.component("pgbouncer")
        self._db = settings.database.name
        self._proxy = settings.proxy_names[0]
        self._pool_size = settings.local.pgbouncer_pool_size

    def read(self, now: datetime) -> list[ProxyFigures]:
        pools = [p for p in self._bouncer.show("POOLS") if p["database"] == self._db]  # type: ignore[attr-defined]
        if not pools:
            return [ProxyFigures(self._proxy, now, 0.0, 0, self._pool_size, 0, 0, 0, "pgbouncer")]
        waited_ms = max(
            int(p["maxwait"]) * 1000 + int(p.get("maxwait_us", 0)) / 1000 for p in pools
        )
        return [
            ProxyFigures(
                proxy=self._proxy,
                observed_at=now,
                borrow_latency_ms=waited_ms,
                borrowed=sum(int(p["sv_active"]) for p in pools),
                max_allowed=self._pool_size,
                pinned=0,  # transaction pooling: nothing pins
                client_connections=sum(int(p["cl_active"]) + int(p["cl_waiting"]) for p in pools),
                clients_waiting=sum(int(p["cl_waiting"]) for p in pools),
                source="pgbouncer",
            )
        ]
