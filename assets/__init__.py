"""Dagster assets of the control plane: cluster -> slot -> (connector) -> topics -> ..."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from assets.cluster import aurora_cluster
from assets.replication_slot import replication_slot
from assets.topics import build_topic_assets
from cdc_ops.settings import Settings

OBSERVE_PIPELINE_JOB = "observe_pipeline"


def build_assets(settings: Settings) -> list:
    return [aurora_cluster, replication_slot, build_topic_assets(settings)]


def build_jobs() -> list:
    return [
        define_asset_job(
            OBSERVE_PIPELINE_JOB,
            selection=AssetSelection.all(include_sources=True),
            description="Observe every part of the pipeline once: cluster, slot, topics.",
        )
    ]
