"""Dagster assets of the control plane: cluster -> slot -> (connector) -> topics -> ..."""

from __future__ import annotations

import warnings

from dagster import AssetSelection, BetaWarning, define_asset_job

# multi_observable_source_asset and AssetSelection.all(include_sources=...) are marked beta; the
# warning repeats on every load and says nothing an operator can act on.
warnings.filterwarnings("ignore", category=BetaWarning)


from assets.cluster import aurora_cluster
from assets.connector import cdc_connector, connector_running
from assets.consumers import build_consumer_assets
from assets.flink import build_statement_assets, current_filters, redeploy_filters
from assets.lifecycle import auto_stop_job, start_cluster, stop_cluster
from assets.rds_proxy import rds_proxy
from assets.replication_slot import replication_slot
from assets.slot_checks import slot_present, slot_retained_wal, slot_wal_status
from assets.topics import build_topic_assets
from assets.uptime import cluster_uptime
from cdc_ops.settings import Settings

OBSERVE_PIPELINE_JOB = "observe_pipeline"


def build_assets(settings: Settings) -> list:
    filters = current_filters()
    return [
        *build_statement_assets(settings, filters),
        aurora_cluster,
        rds_proxy,
        replication_slot,
        cdc_connector,
        *build_topic_assets(settings, filters),
        *build_consumer_assets(settings),
        cluster_uptime,
    ]


def build_checks() -> list:
    return [connector_running, slot_present, slot_retained_wal, slot_wal_status]


UPTIME_JOB = "cluster_uptime_job"


def build_jobs() -> list:
    return [
        define_asset_job(
            OBSERVE_PIPELINE_JOB,
            selection=AssetSelection.all(include_sources=True)
            - AssetSelection.assets(cluster_uptime, cdc_connector),
            description="Observe every part of the pipeline once: cluster, slot, topics.",
        ),
        define_asset_job(
            UPTIME_JOB,
            selection=AssetSelection.assets(cluster_uptime),
            description="Recompute the cluster's uptime and savings.",
        ),
        redeploy_filters,
        auto_stop_job,
        stop_cluster,
        start_cluster,
    ]
