"""Consumer groups at the end of the pipeline: lag per partition and in total, dead letters, and
a `lag_under_threshold` check each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dagster import AssetCheckSpec, AssetSpec, MetadataValue

from assets.health import observed_at
from assets.keys import GROUP_CHECK, group_key, topic_key
from cdc_ops.health.verdicts import group_health
from cdc_ops.kafka.groups import GroupLag
from cdc_ops.settings import Settings


def group_specs(settings: Settings) -> list[AssetSpec]:
    return [
        AssetSpec(
            group_key(c.group),
            deps=[topic_key(c.topic)],
            group_name="consumers",
            description=f"Consumer group {c.group} ({c.name}) on {c.topic}; dead letters in "
            f"{c.dead_letter_topic}.",
        )
        for c in settings.consumers.consumers
    ]


def group_check_specs(settings: Settings) -> list[AssetCheckSpec]:
    limit = settings.consumers.lag_warn_messages
    return [
        AssetCheckSpec(
            GROUP_CHECK,
            asset=group_key(c.group),
            description=f"Its topic exists and the total lag is at most {limit} messages "
            "(consumers.lag_warn_messages).",
        )
        for c in settings.consumers.consumers
    ]


def lag_metadata(g: GroupLag, settings: Settings, at: datetime) -> dict[str, Any]:
    limit = settings.consumers.lag_warn_messages
    return {
        "group": g.group,
        "topic": g.topic,
        "lag_total": MetadataValue.int(g.total),
        "lag_by_partition": MetadataValue.json(
            {
                str(p.partition): {"committed": p.committed, "end": p.end, "lag": p.lag}
                for p in g.partitions
            }
        ),
        "dead_letters": MetadataValue.int(g.dead_letters),
        "topic_exists": MetadataValue.bool(g.topic_exists),
        "limit": MetadataValue.int(limit),
        "health": group_health(g, limit).says,
        **observed_at(at),
    }
