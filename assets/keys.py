"""Asset keys in one place, so lineage (cluster -> slot -> connector -> topics) stays right."""

from __future__ import annotations

from dagster import AssetKey

AURORA_CLUSTER = AssetKey("aurora_cluster")
REPLICATION_SLOT = AssetKey("replication_slot")
CLUSTER_UPTIME = AssetKey("cluster_uptime")
RDS_PROXY = AssetKey("rds_proxy")
CDC_CONNECTOR = AssetKey("cdc_connector")
TOPIC_PREFIX = "kafka_topics"


STATEMENT_PREFIX = "flink_statements"


def statement_key(name: str) -> AssetKey:
    return AssetKey([STATEMENT_PREFIX, name.replace("-", "_")])


def topic_key(topic: str) -> AssetKey:
    """Asset keys allow [A-Za-z0-9_]; topic names use hyphens."""
    return AssetKey([TOPIC_PREFIX, topic.replace("-", "_").replace(".", "_")])
