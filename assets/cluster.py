"""The Aurora cluster, observed: status, engine, endpoint, members and the last recorded action.

Each observation is a point in the cluster's state history; the lifecycle jobs add one after
every action, so the asset's timeline in the UI is that history.
"""

from dagster import (
    AssetExecutionContext,
    AssetObservation,
    AssetSpec,
    DataVersion,
    MetadataValue,
    ObserveResult,
    multi_observable_source_asset,
)

from assets.keys import AURORA_CLUSTER
from assets.resources import CdcOpsResource
from cdc_ops.cluster import ClusterState, cluster_observer


def cluster_metadata(state: ClusterState) -> dict[str, object]:
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
        "last_action": f"{last.action} at {last.at.isoformat()}" if last else "none recorded",
        "last_action_reason": last.reason if last else "",
    }


def cluster_observation(state: ClusterState, **extra: object) -> AssetObservation:
    return AssetObservation(asset_key=AURORA_CLUSTER, metadata={**cluster_metadata(state), **extra})


@multi_observable_source_asset(
    specs=[
        AssetSpec(
            AURORA_CLUSTER,
            description="The Aurora PostgreSQL cluster the pipeline captures from "
            "(locally: the stack's PostgreSQL). Its observations are the state history.",
            group_name="source",
        )
    ],
)
def aurora_cluster(context: AssetExecutionContext, cdc_ops: CdcOpsResource):
    state = cluster_observer(cdc_ops.settings()).observe()
    context.log.info(f"cluster {state.cluster_id}: {state.status} (via {state.observed_via})")
    yield ObserveResult(
        asset_key=AURORA_CLUSTER,
        data_version=DataVersion(state.status),
        metadata=cluster_metadata(state),
    )
