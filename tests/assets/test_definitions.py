"""The Dagster code location: it loads, its lineage is right, and its observations are real."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance

from assets.keys import AURORA_CLUSTER, REPLICATION_SLOT, topic_key
from cdc_ops.tools.stack import Stack
from tests.conftest import ROOT


@pytest.fixture
def dagster_home(tmp_path: Path) -> Path:
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return tmp_path


def test_dagster_definitions_validate(dagster_home: Path) -> None:
    out = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "dagster"),
            "definitions",
            "validate",
            "-w",
            "workspace.yaml",
        ],
        cwd=ROOT,
        env={**os.environ, "DAGSTER_HOME": str(dagster_home)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Validation successful for code location cdc_ops" in out.stdout + out.stderr


def test_lineage_runs_cluster_slot_raw_topic_filtered_topics() -> None:
    from definitions import defs, settings

    graph = defs.resolve_asset_graph()
    raw = topic_key(settings.names.raw_topic)
    assert graph.get(REPLICATION_SLOT).parent_keys == {AURORA_CLUSTER}
    assert graph.get(AssetKey("cdc_connector")).parent_keys == {REPLICATION_SLOT}
    assert graph.get(raw).parent_keys == {AssetKey("cdc_connector")}
    for topic in settings.names.filtered_topics:
        (statement,) = graph.get(topic_key(topic)).parent_keys
        assert statement.path[0] == "flink_statements"
        assert graph.get(statement).parent_keys == {raw}
    assert graph.get(AssetKey("pipeline_health")).parent_keys >= {
        AssetKey(["consumer_groups", "car_consumer_group"])
    }
    assert topic_key("filtered-car-created-events") == AssetKey(
        ["kafka_topics", "filtered_car_created_events"]
    )


@pytest.mark.e2e
def test_observe_pipeline_reads_each_part_once_in_one_process(local_stack: Stack) -> None:
    from definitions import defs

    settings = local_stack.settings
    with DagsterInstance.ephemeral() as instance:
        job = defs.resolve_job_def("observe_pipeline")
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        # no statement is deployed on this stack yet: pipeline_health fails, and so the run
        (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        assert failure.step_key == "pipeline_health"
        assert instance.get_run_by_id(result.run_id).tags["cdc-ops/health"] == "unhealthy"
        observed = {
            e.asset_observation_data.asset_observation.asset_key: {
                k: v.value for k, v in e.asset_observation_data.asset_observation.metadata.items()
            }
            for e in result.get_asset_observation_events()
        }
        checks = {
            (e.event_specific_data.asset_key, e.event_specific_data.check_name): (
                e.event_specific_data
            )
            for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"
        }
        events = [e.dagster_event for e in instance.all_logs(result.run_id) if e.dagster_event]
        pids = {e.pid for e in events if e.pid is not None}  # planning events have none
        logs = " ".join(str(e.message) for e in instance.all_logs(result.run_id))
    assert len(pids) == 1  # one process
    # cluster, proxy, slot, connector, five topics, four statements, four groups, the table
    assert len(observed) == 18
    assert observed[AssetKey("rds_proxy")]["source"] == "pgbouncer"
    cluster = observed[AURORA_CLUSTER]
    assert (cluster["status"], cluster["observed_via"]) == ("available", "local postgres")
    assert cluster["endpoint"] == f"127.0.0.1:{settings.local.ports.postgres}"
    assert cluster["members"] == [
        {"instance": f"{settings.names.cluster_id}-local", "writer": True}
    ]
    assert observed[REPLICATION_SLOT]["state"] == "present"  # the local connector's slot
    raw = observed[topic_key(settings.names.raw_topic)]
    assert (raw["exists"], raw["partitions"], sorted(raw["end_offsets"])) == (
        True,
        3,
        ["0", "1", "2"],
    )
    # every asset's health check came with its observation, freshness checks are not in the job
    assert len(checks) == 20
    assert checks[(AURORA_CLUSTER, "cluster_available")].passed
    assert checks[(AssetKey("cdc_connector"), "connector_running")].passed
    car = AssetKey(["flink_statements", "cdc_filter_car_created"])
    statement = checks[(car, "statement_running")]
    assert not statement.passed  # nothing deployed on this stack yet
    assert statement.description == "cdc-filter-car-created is ABSENT; expected RUNNING"
    table = observed[AssetKey("pipeline_health")]["status"].records
    unhealthy = [r.data for r in table if not r.data["healthy"]]
    assert [r["part"] for r in unhealthy] == ["statement"] * 4 + ["latency"] * 4
    # no canary has run here: each route's latency is "not measured yet", never green
    assert {r["state"] for r in unhealthy if r["part"] == "latency"} == {"not measured"}
    # no secret reaches Dagster's metadata or its logs
    password = settings.database.password.get_secret_value()
    assert password not in repr(observed) and password not in logs


@pytest.mark.e2e
def test_observing_one_asset_reads_only_its_part(local_stack: Stack) -> None:
    from definitions import defs

    key = topic_key("filtered-car-created-events")
    with DagsterInstance.ephemeral() as instance:
        job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={key})
        result = job.execute_in_process(instance=instance)
        assert result.success
        observed = [
            e.asset_observation_data.asset_observation.asset_key
            for e in result.get_asset_observation_events()
        ]
    assert observed == [key]


@pytest.mark.e2e
def test_materializing_the_connector_applies_config_and_its_check_passes(
    local_stack: Stack,
) -> None:
    from dagster import AssetKey, materialize

    from assets.connector import cdc_connector
    from assets.resources import CdcOpsResource

    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [cdc_connector],
            instance=instance,
            resources={"cdc_ops": CdcOpsResource()},
            selection=[AssetKey("cdc_connector")],
        )
        assert result.success
        metadata = result.asset_materializations_for_node("cdc_connector")[0].metadata
        # the stack wrote the same rendered configuration when it started the connector
        assert metadata["result"].value == "unchanged"
        backend, variant = metadata["backend"].value, metadata["variant"].value
        assert (backend, variant) == ("kafka_connect", "debezium")
        assert metadata["state"].value == "RUNNING"
        assert metadata["config"].value["database.password"] == "***"
        checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
        assert checks["connector_running"].passed
        # Debezium's metrics through the worker's Jolokia agent: the lag is a number, measured
        lag = checks["connector_lag_behind_source"]
        assert lag.passed, lag.description
        assert metadata["metrics_source"].value == "jolokia"
        assert metadata["total_events_seen"].value >= 0
        assert metadata["server_wal_lsn"].value
