"""RDS Proxy (PgBouncer locally), observed: borrow wait, borrowed share, pinned sessions.

The proxy_saturation sensor adds an observation on every tick, with the recent series.
"""

from dagster import (
    AssetExecutionContext,
    AssetObservation,
    AssetSpec,
    MetadataValue,
    ObserveResult,
    multi_observable_source_asset,
)

from assets.keys import AURORA_CLUSTER, RDS_PROXY
from assets.resources import CdcOpsResource
from cdc_ops.cluster_control import utc_now
from cdc_ops.proxy_saturation import ProxyFigures, proxy_reader


def _number(value: float | None) -> object:
    return MetadataValue.float(float(value)) if value is not None else "n/a"


def proxy_metadata(figures: list[ProxyFigures], series: list[dict] | None = None) -> dict:
    first = figures[0]
    metadata: dict[str, object] = {
        "proxy": first.proxy,
        "source": first.source,
        "borrow_latency_ms": _number(first.borrow_latency_ms),
        "borrowed": _number(first.borrowed),
        "max_allowed": _number(first.max_allowed),
        "borrowed_ratio": _number(first.borrowed_ratio),
        "pinned_sessions": _number(first.pinned),
        "client_connections": _number(first.client_connections),
        "clients_waiting": _number(first.clients_waiting),
    }
    if len(figures) > 1:
        metadata["all_proxies"] = MetadataValue.json([f.as_dict() for f in figures])
    if series is not None:
        metadata["recent"] = MetadataValue.json(series)
    return metadata


def proxy_observation(figures: list[ProxyFigures], series: list[dict]) -> AssetObservation:
    return AssetObservation(asset_key=RDS_PROXY, metadata=proxy_metadata(figures, series))


@multi_observable_source_asset(
    specs=[
        AssetSpec(
            RDS_PROXY,
            deps=[AURORA_CLUSTER],
            description="RDS Proxy in front of the cluster for the Lambdas (locally PgBouncer): "
            "borrow latency, borrowed/max connections, pinned sessions.",
            group_name="source",
        )
    ],
)
def rds_proxy(context: AssetExecutionContext, cdc_ops: CdcOpsResource):
    figures = proxy_reader(cdc_ops.settings()).read(utc_now())
    yield ObserveResult(asset_key=RDS_PROXY, metadata=proxy_metadata(figures))
