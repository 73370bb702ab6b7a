"""Asset keys and check names in one place, so lineage (cluster -> slot -> connector -> topics
-> statements -> consumer groups -> pipeline_health) and the checks stay right."""

from __future__ import annotations

from dagster import AssetKey

AURORA_CLUSTER = AssetKey("aurora_cluster")
REPLICATION_SLOT = AssetKey("replication_slot")
CLUSTER_UPTIME = AssetKey("cluster_uptime")
RDS_PROXY = AssetKey("rds_proxy")
CDC_CONNECTOR = AssetKey("cdc_connector")
PIPELINE_HEALTH = AssetKey("pipeline_health")
TOPIC_PREFIX = "kafka_topics"
STATEMENT_PREFIX = "flink_statements"
GROUP_PREFIX = "consumer_groups"
LATENCY_PREFIX = "pipeline_latency"

# the health check of each kind of asset
CLUSTER_CHECK = "cluster_available"
PROXY_CHECK = "proxy_not_saturated"
SLOT_CHECKS = ("slot_present", "slot_retained_wal", "slot_wal_status")
CONNECTOR_CHECK = "connector_running"
CONNECTOR_LAG_CHECK = "connector_lag_behind_source"
TOPIC_CHECK = "topic_exists"
STATEMENT_CHECK = "statement_running"
GROUP_CHECK = "lag_under_threshold"
PIPELINE_CHECK = "pipeline_healthy"
LATENCY_CHECK = "latency_within_threshold"


def statement_key(name: str) -> AssetKey:
    return AssetKey([STATEMENT_PREFIX, name.replace("-", "_")])


def topic_key(topic: str) -> AssetKey:
    """Asset keys allow [A-Za-z0-9_]; topic names use hyphens."""
    return AssetKey([TOPIC_PREFIX, topic.replace("-", "_").replace(".", "_")])


def group_key(group: str) -> AssetKey:
    return AssetKey([GROUP_PREFIX, group.replace("-", "_")])


def latency_key(route: str) -> AssetKey:
    """A route's canary latency; routes are filter names, already [a-z0-9_]."""
    return AssetKey([LATENCY_PREFIX, route])
