"""Dagster assets of the control plane, their checks and jobs, as one Definitions.

cluster -> slot -> connector -> raw topic -> statements -> filtered topics -> consumer groups
-> pipeline_health; rds_proxy and cluster_uptime beside the cluster; pipeline_latency/<route>
(the canary) after each filtered topic.
"""

from __future__ import annotations

import warnings
from datetime import timedelta

from dagster import (
    AssetSelection,
    BetaWarning,
    Definitions,
    SupersessionWarning,
    build_last_update_freshness_checks,
    define_asset_job,
    in_process_executor,
)

# multi_observable_source_asset and the freshness checks are marked beta; the warning repeats on
# every load and says nothing an operator can act on.
warnings.filterwarnings("ignore", category=BetaWarning)
# Dagster 1.13 calls the freshness checks superseded by FreshnessPolicy, but a FreshnessPolicy
# looks only at materializations (freshness_evaluator.py), and most of these assets are observed:
# the checks, which read observations' dagster/last_updated_timestamp, are what works here.
warnings.filterwarnings("ignore", category=SupersessionWarning)


from assets.connector import cdc_connector
from assets.connector_actions import CONNECTOR_JOBS
from assets.flink import build_redeploy_job, build_statement_assets, current_filters
from assets.keys import CLUSTER_UPTIME
from assets.latency import build_latency_assets, build_latency_job
from assets.lifecycle import auto_stop_job, start_cluster, stop_cluster
from assets.pipeline import build_pipeline_observers
from assets.uptime import cluster_uptime
from cdc_ops.settings import Settings

OBSERVE_PIPELINE_JOB = "observe_pipeline"
UPTIME_JOB = "cluster_uptime_job"
# the observe_pipeline schedule's interval; an observation older than twice that is stale
OBSERVE_EVERY_MINUTES = 5


def build_defs(settings: Settings) -> Definitions:
    filters, broken = current_filters()
    statements = build_statement_assets(settings, filters) if filters else []
    observers = build_pipeline_observers(settings, filters)
    latency = build_latency_assets(settings, filters)
    assets = [*observers, cdc_connector, *statements, cluster_uptime, *latency]
    fresh = freshness_checks(observers, statements)
    # a canary measurement older than two of its intervals: its schedule has stopped
    latency_fresh = build_last_update_freshness_checks(
        assets=[k for a in latency for k in a.keys],
        lower_bound_delta=timedelta(minutes=2 * settings.canary.interval_minutes),
    )
    return Definitions(
        assets=assets,
        asset_checks=[*fresh, *latency_fresh],
        jobs=[
            define_asset_job(
                OBSERVE_PIPELINE_JOB,
                # the freshness checks judge this job from outside (their own sensor)
                selection=AssetSelection.assets(*observers) - AssetSelection.checks(*fresh),
                executor_def=in_process_executor,
                description="Observe every part of the pipeline once, in one process: each "
                "asset's observation and health checks, and pipeline_health.",
            ),
            define_asset_job(
                UPTIME_JOB,
                selection=AssetSelection.assets(cluster_uptime),
                executor_def=in_process_executor,
                description="Recompute the cluster's uptime and savings.",
            ),
            build_redeploy_job(statements, broken),
            *([build_latency_job(latency, latency_fresh)] if latency else []),
            auto_stop_job,
            stop_cluster,
            start_cluster,
            *CONNECTOR_JOBS,
        ],
    )


def freshness_checks(observers: list, statements: list) -> list:
    """An observation older than twice its interval warns: a stopped daemon or schedule shows."""
    observed = [
        *(k for o in observers for k in o.keys),
        cdc_connector.key,
        *(k for s in statements for k in s.keys),
    ]
    return [
        *build_last_update_freshness_checks(
            assets=observed, lower_bound_delta=timedelta(minutes=2 * OBSERVE_EVERY_MINUTES)
        ),
        *build_last_update_freshness_checks(
            assets=[CLUSTER_UPTIME], lower_bound_delta=timedelta(hours=2)
        ),
    ]
