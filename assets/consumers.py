"""Consumer groups at the end of the pipeline: lag per partition and in total, dead letters."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MetadataValue,
    ObserveResult,
    asset_check,
    multi_observable_source_asset,
)

from assets.keys import topic_key
from assets.resources import CdcOpsResource
from cdc_ops.consumers.lag import GroupLag, group_lag
from cdc_ops.settings import ConsumerSpec, Settings


def group_key(spec: ConsumerSpec) -> AssetKey:
    return AssetKey(["consumer_groups", spec.group.replace("-", "_")])


def lag_metadata(g: GroupLag) -> dict[str, object]:
    return {
        "group": g.group,
        "topic": g.topic,
        "lag_total": MetadataValue.int(g.total),
        "lag_by_partition": MetadataValue.json(
            {
                str(p.partition): {"committed": p.committed, "end": p.end, "lag": p.lag}
                for p in g.partitions
            }  # fmt: skip
        ),
        "dead_letters": MetadataValue.int(g.dead_letters),
        "topic_exists": MetadataValue.bool(g.topic_exists),
    }


def build_consumer_assets(settings: Settings) -> list:
    specs = {group_key(c): c for c in settings.consumers.consumers}

    @multi_observable_source_asset(
        specs=[
            AssetSpec(
                key,
                deps=[topic_key(c.topic)],
                group_name="consumers",
                description=f"Consumer group {c.group} ({c.name}) on {c.topic}; dead "
                f"letters in {c.dead_letter_topic}.",
            )  # fmt: skip
            for key, c in specs.items()
        ],
        name="consumer_groups",
    )
    def consumer_groups(context: AssetExecutionContext, cdc_ops: CdcOpsResource):
        current = cdc_ops.settings()
        for key, spec in specs.items():
            yield ObserveResult(asset_key=key, metadata=lag_metadata(group_lag(current, spec)))

    checks = [_lag_check(key, spec) for key, spec in specs.items()]
    return [consumer_groups, *checks]


def _lag_check(key: AssetKey, spec: ConsumerSpec):
    @asset_check(asset=key, name="lag_under_threshold",
                 description="Total lag at most consumers.lag_warn_messages.")  # fmt: skip
    def lag_under_threshold(cdc_ops: CdcOpsResource) -> AssetCheckResult:
        settings = cdc_ops.settings()
        g = group_lag(settings, spec)
        limit = settings.consumers.lag_warn_messages
        return AssetCheckResult(
            passed=g.topic_exists and g.total <= limit,
            severity=AssetCheckSeverity.WARN,
            metadata={**lag_metadata(g), "limit": limit},
        )

    return lag_under_threshold
