"""The Aurora cluster: one metadata schema whoever observes it (the pipeline observation, the
cluster sensor, the stop/start/auto-stop jobs), and its `cluster_available` check.

Each observation is a point in the cluster's state history (cluster_uptime reads it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dagster import AssetCheckSpec, AssetObservation, AssetSpec, MetadataValue

from assets.health import check_evaluation, observed_at
from assets.keys import AURORA_CLUSTER, CLUSTER_CHECK
from cdc_ops.cluster.state import ClusterState
from cdc_ops.health.verdicts import cluster_health

cluster_spec = AssetSpec(
    AURORA_CLUSTER,
    description="The Aurora PostgreSQL cluster the pipeline captures from (locally: the stack's "
    "PostgreSQL). Its observations are the state history.",
    group_name="source",
)

cluster_check_spec = AssetCheckSpec(
    CLUSTER_CHECK,
    asset=AURORA_CLUSTER,
    description="The cluster is available, or stopped on purpose by cdc-ops (the result says "
    "which, with the recorded reason).",
)


def cluster_metadata(state: ClusterState, at: datetime) -> dict[str, Any]:
    last = state.last_action
    return {
        "cluster_id": state.cluster_id,
        "status": state.status,
        "engine": f"{state.engine} {state.engine_version}".strip(),
        "endpoint": state.endpoint,
        "members": MetadataValue.json(
            [{"instance": m.instance_id, "writer": m.writer} for m in state.members]
        ),
        "observed_via": state.observed_via,
        "last_action": last.action if last else "none recorded",
        "last_action_at": MetadataValue.timestamp(last.at) if last else MetadataValue.null(),
        "last_action_reason": last.reason if last else "",
        "health": cluster_health(state).says,
        **observed_at(at),
    }


def cluster_events(state: ClusterState, at: datetime) -> list:
    """The observation and its check, for ops and sensors that are not the observer."""
    return [
        AssetObservation(asset_key=AURORA_CLUSTER, metadata=cluster_metadata(state, at)),
        check_evaluation(AURORA_CLUSTER, CLUSTER_CHECK, cluster_health(state)),
    ]
