"""The canary: per route an asset `pipeline_latency/<route>`, materialized by one run of
`measure_pipeline_latency` that sends one canary per route through the producer API and times
it to the route's filtered topic. Its metadata are the figures (end to end and each hop, in ms,
as numbers for the Plots tab); its check `latency_within_threshold` fails when the route dropped
the canary and warns over `thresholds.pipeline_latency_warn_ms` or when no canary can satisfy
the route's filter. `pipeline_health` reads each route's latest verdict back from here.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetSelection,
    AssetSpec,
    DagsterInstance,
    MaterializeResult,
    MetadataValue,
    define_asset_job,
    in_process_executor,
    multi_asset,
)

from assets.health import check_result
from assets.keys import LATENCY_CHECK, latency_key, topic_key
from assets.resources import CdcOpsResource
from cdc_ops.canary.run import CanaryRun, measure_routes
from cdc_ops.canary.verdict import PART, Measurement, latency_verdict
from cdc_ops.filters.model import Filter
from cdc_ops.health.verdicts import Health
from cdc_ops.settings import Settings

LATENCY_JOB = "measure_pipeline_latency"
LATENCY_GROUP = "latency"


def _ms(value: float | None) -> Any:
    return MetadataValue.null() if value is None else MetadataValue.float(round(value, 3))


def latency_metadata(m: Measurement, health: Health, run: CanaryRun, threshold_ms: float) -> dict:
    return {
        "end_to_end_ms": _ms(m.end_to_end_ms),
        **{name: _ms(value) for name, value in m.hops().items()},
        "threshold_ms": MetadataValue.float(float(threshold_ms)),
        "timeout_s": MetadataValue.float(float(m.timeout_s)),
        "topic": m.topic,
        "canary_id": m.canary_id or MetadataValue.null(),
        # the verdict, as pipeline_health reads it back
        "state": health.state,
        "healthy": MetadataValue.bool(health.healthy),
        # whether this verdict pages (ERROR) rather than warns
        "pages": MetadataValue.bool(health.severe and not health.healthy),
        "says": health.says,
        "figure": health.figure,
        "canary_rows_deleted": (
            MetadataValue.null()
            if run.rows_deleted is None
            else MetadataValue.int(run.rows_deleted)
        ),
        **({"cleanup_error": run.cleanup_error} if run.cleanup_error else {}),
    }


def build_latency_assets(settings: Settings, filters: list[Filter]) -> list:
    if not filters:
        return []
    routes = {latency_key(f.name): f for f in filters}
    specs = [
        AssetSpec(
            key,
            deps=[topic_key(f.output_topic)],
            group_name=LATENCY_GROUP,
            description=f"How long a canary event takes from the producer API to "
            f"{f.output_topic} (route {f.name}), end to end and per hop, in ms.",
            metadata={"route": f.name, "output_topic": f.output_topic},
        )
        for key, f in routes.items()
    ]
    checks = [
        AssetCheckSpec(
            LATENCY_CHECK,
            asset=key,
            description="The route's canary reached its filtered topic within canary.timeout_s"
            " (ERROR when dropped) and under thresholds.pipeline_latency_warn_ms (WARN); WARN"
            " with the reason when no canary can satisfy the route's filter.",
        )
        for key in routes
    ]

    @multi_asset(specs=specs, check_specs=checks, name="send_canaries", can_subset=False)
    def send_canaries(context: AssetExecutionContext, cdc_ops: CdcOpsResource):
        current = cdc_ops.settings
        threshold = current.thresholds.pipeline_latency_warn_ms
        run = measure_routes(cdc_ops.adapters, list(routes.values()))
        if run.cleanup_error:
            context.log.warning(f"canary rows not deleted: {run.cleanup_error}")
        for m in run.measurements:
            health = latency_verdict(m, threshold)
            context.log.info(health.says)
            key = latency_key(m.route)
            metadata = latency_metadata(m, health, run, threshold)
            yield MaterializeResult(asset_key=key, metadata=metadata)
            yield check_result(
                key, LATENCY_CHECK, health, {"end_to_end_ms": metadata["end_to_end_ms"]}
            )

    return [send_canaries]


def build_latency_job(latency: list, freshness: list):
    return define_asset_job(
        LATENCY_JOB,
        selection=AssetSelection.assets(*latency) - AssetSelection.checks(*freshness),
        executor_def=in_process_executor,
        description="Send one canary event per route through the producer API, time it to the "
        "route's filtered topic, and delete it.",
    )


def latency_rows(
    instance: DagsterInstance, routes: list[str], settings: Settings, now: datetime
) -> list[Health]:
    """Each route's latest latency verdict, as pipeline_health shows it: none yet, or one older
    than two canary intervals, is not healthy (it warns)."""
    stale_after = timedelta(minutes=2 * settings.canary.interval_minutes)
    rows = []
    for route in routes:
        event = instance.get_latest_materialization_event(latency_key(route))
        if event is None or event.asset_materialization is None:
            says = f"{route}: not measured yet (no {LATENCY_JOB} run has measured it)"
            rows.append(Health(PART, route, "not measured", False, says, severe=False))
            continue
        md = {k: v.value for k, v in event.asset_materialization.metadata.items()}
        at = datetime.fromtimestamp(event.timestamp, UTC)
        health = Health(
            PART,
            route,
            str(md.get("state", "unknown")),
            bool(md.get("healthy")),
            str(md.get("says", "")),
            str(md.get("figure") or ""),
            severe=bool(md.get("pages", True)),
        )
        if now - at > stale_after:
            says = (
                f"{route}: last measured at {at.isoformat(timespec='seconds')}, over"
                f" {stale_after} ago (is the {LATENCY_JOB} schedule running?); then: {health.says}"
            )
            # stale is not better than what was last seen: a drop still pages
            severe = health.severe and not health.healthy
            health = Health(PART, route, "stale", False, says, health.figure, severe=severe)
        rows.append(health)
    return rows
