"""The Dagster code location: it loads, its lineage is right, and its observations are real."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance

from assets.keys import AURORA_CLUSTER, REPLICATION_SLOT, topic_key
from cdc_ops.stack import Stack
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
    assert topic_key("filtered-car-created-events") == AssetKey(
        ["kafka_topics", "filtered_car_created_events"]
    )


@pytest.mark.e2e
def test_observe_pipeline_records_real_state(local_stack: Stack) -> None:
    from definitions import defs

    settings = local_stack.settings
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("observe_pipeline").execute_in_process(instance=instance)
        assert result.success
        observed = {
            e.asset_observation_data.asset_observation.asset_key: {
                k: v.value for k, v in e.asset_observation_data.asset_observation.metadata.items()
            }
            for e in result.get_asset_observation_events()
        }
        logs = " ".join(str(e.message) for e in instance.all_logs(result.run_id))
    # cluster, proxy, slot, five topics, four statements, four consumer groups
    assert len(observed) == 16
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
    # no secret reaches Dagster's metadata or its logs
    password = settings.database.password.get_secret_value()
    assert password not in repr(observed) and password not in logs


@pytest.mark.e2e
def test_materializing_the_connector_applies_config_and_its_check_passes(
    local_stack: Stack,
) -> None:
    from dagster import AssetKey, materialize

    from assets.connector import cdc_connector, connector_running
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
        assert (metadata["backend"].value, metadata["variant"].value) == ("embedded", "debezium")
        assert metadata["state"].value == "RUNNING"
        assert metadata["config"].value["database.password"] == "***"
        check = connector_running(CdcOpsResource())
        assert check.passed
