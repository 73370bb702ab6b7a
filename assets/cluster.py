"""The Aurora cluster, observed: status, engine, endpoint and members."""

from dagster import (
    AssetExecutionContext,
    AssetSpec,
    DataVersion,
    MetadataValue,
    ObserveResult,
    multi_observable_source_asset,
)

from assets.keys import AURORA_CLUSTER
from assets.resources import CdcOpsResource
from cdc_ops.cluster import cluster_observer


@multi_observable_source_asset(
    specs=[
        AssetSpec(
            AURORA_CLUSTER,
            description="The Aurora PostgreSQL cluster the pipeline captures from "
            "(locally: the stack's PostgreSQL).",
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
        metadata={
            "cluster_id": state.cluster_id,
            "status": state.status,
            "engine": f"{state.engine} {state.engine_version}".strip(),
            "endpoint": state.endpoint,
            "members": MetadataValue.json(
                [{"instance": m.instance_id, "writer": m.writer} for m in state.members]
            ),
            "observed_via": state.observed_via,
        },
    )
