"""RDS Proxy (PgBouncer locally): borrow wait, borrowed share, pinned sessions, and its
`proxy_not_saturated` check. The proxy_saturation sensor observes it on every tick too."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dagster import AssetCheckSpec, AssetObservation, AssetSpec, MetadataValue

from assets.health import check_evaluation, number, observed_at
from assets.keys import AURORA_CLUSTER, PROXY_CHECK, RDS_PROXY
from cdc_ops.health.verdicts import Health, proxy_health
from cdc_ops.health.verdicts import on_purpose as on_purpose_health
from cdc_ops.proxy.saturation import ProxyFigures
from cdc_ops.settings import Thresholds

proxy_spec = AssetSpec(
    RDS_PROXY,
    deps=[AURORA_CLUSTER],
    description="RDS Proxy in front of the cluster for the Lambdas (locally PgBouncer): "
    "borrow latency, borrowed/max connections, pinned sessions.",
    group_name="source",
)

proxy_check_spec = AssetCheckSpec(
    PROXY_CHECK,
    asset=RDS_PROXY,
    description="No client waits over thresholds.borrow_latency_warn_ms to borrow a connection, "
    "under borrowed_ratio_warn of the connections are borrowed, no session is pinned.",
)


def proxy_verdict(figures: list[ProxyFigures], t: Thresholds) -> Health:
    """One verdict for the asset: the worst of its proxies."""
    rows = proxy_health(figures, t)
    bad = [r for r in rows if not r.healthy]
    return bad[0] if bad else rows[0]


def proxy_metadata(
    figures: list[ProxyFigures], t: Thresholds, at: datetime, series: list[dict] | None = None
) -> dict[str, Any]:
    first = figures[0]
    metadata: dict[str, Any] = {
        "proxy": first.proxy,
        "source": first.source,
        "borrow_latency_ms": number(first.borrow_latency_ms),
        "borrowed": number(first.borrowed),
        "max_allowed": number(first.max_allowed),
        "borrowed_ratio": number(first.borrowed_ratio),
        "pinned_sessions": number(first.pinned),
        "client_connections": number(first.client_connections),
        "clients_waiting": number(first.clients_waiting),
        "health": proxy_verdict(figures, t).says,
        **observed_at(at),
    }
    if len(figures) > 1:
        metadata["all_proxies"] = MetadataValue.json([f.as_dict() for f in figures])
    if series is not None:
        metadata["recent"] = MetadataValue.json(series)
    return metadata


def proxy_events(
    figures: list[ProxyFigures],
    t: Thresholds,
    at: datetime,
    series: list[dict],
    on_purpose: str | None = None,
) -> list:
    """The observation and its check; `on_purpose`: why clients wait (cdc-ops stopped the
    cluster), so the check warns with that instead of failing."""
    health = on_purpose_health(proxy_verdict(figures, t), on_purpose)
    return [
        AssetObservation(asset_key=RDS_PROXY, metadata=proxy_metadata(figures, t, at, series)),
        check_evaluation(RDS_PROXY, PROXY_CHECK, health),
    ]
