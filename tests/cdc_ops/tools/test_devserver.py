"""DAGSTER_HOME as `cdc-ops dev` writes it: telemetry off; SQLite or PostgreSQL storage."""

from __future__ import annotations

import os

import psycopg
import pytest
import yaml
from dagster import DagsterInstance
from psycopg import sql
from pydantic import SecretStr

from cdc_ops.tools.devserver import write_dagster_yaml
from cdc_ops.tools.stack import Stack
from cdc_ops.tools.stack.scratch import scratch_state_dir


def test_default_home_has_telemetry_off_and_embedded_storage() -> None:
    from cdc_ops.settings import load_settings

    settings = load_settings(local={"state_dir": scratch_state_dir("cdc-ops-test-home-")})
    home = write_dagster_yaml(settings)
    assert home == settings.state_dir / "dagster"
    assert yaml.safe_load((home / "dagster.yaml").read_text()) == {"telemetry": {"enabled": False}}


@pytest.mark.e2e
def test_postgres_storage_runs_on_a_real_database(local_stack: Stack) -> None:
    """Dagster's run and event storage in PostgreSQL (the way past one machine)."""
    settings = local_stack.settings.model_copy(deep=True)
    postgres = local_stack.component("postgres")
    with psycopg.connect(postgres.superuser_conninfo(), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS dagster_storage")
        conn.execute(
            sql.SQL("CREATE DATABASE dagster_storage OWNER {}").format(
                sql.Identifier(settings.database.user)
            )
        )
    password = settings.database.password.get_secret_value()
    url = (
        f"postgresql+psycopg2://{settings.database.user}:{password}"
        f"@127.0.0.1:{settings.local.ports.postgres}/dagster_storage"
    )
    settings.dagster.home = scratch_state_dir("cdc-ops-test-pghome-")
    settings.dagster.postgres_storage_url = SecretStr(url)
    saved = os.environ.get("CDC_OPS_DAGSTER_STORAGE_URL")
    try:
        home = write_dagster_yaml(settings)
        written = (home / "dagster.yaml").read_text()
        assert password not in written  # the URL is read from the environment at run time
        from definitions import defs

        with DagsterInstance.from_config(str(home)) as instance:
            job = defs.resolve_job_def("observe_pipeline")
            # no statement runs on this stack, so pipeline_health fails the run: it is stored all
            # the same, with the observations it made
            result = job.execute_in_process(instance=instance, raise_on_error=False)
            assert result.get_asset_observation_events()
        with psycopg.connect(postgres.superuser_conninfo("dagster_storage")) as conn:
            stored = conn.execute(
                "SELECT count(*) FROM runs WHERE run_id = %s", (result.run_id,)
            ).fetchone()
            observations = conn.execute(
                "SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = %s",
                (result.run_id, "ASSET_OBSERVATION"),
            ).fetchone()
        assert stored == (1,)
        assert observations[0] >= 17
    finally:
        if saved is None:
            os.environ.pop("CDC_OPS_DAGSTER_STORAGE_URL", None)
        else:
            os.environ["CDC_OPS_DAGSTER_STORAGE_URL"] = saved


def test_a_bare_postgres_url_gets_the_driver_dagster_postgres_needs() -> None:
    from cdc_ops.tools.devserver import dagster_storage_url

    assert dagster_storage_url("postgresql://u:p@h:5432/d") == "postgresql+psycopg2://u:p@h:5432/d"
    assert dagster_storage_url("postgres://u:p@h/d") == "postgresql+psycopg2://u:p@h/d"
    kept = "postgresql+psycopg2://u:p@h/d"
    assert dagster_storage_url(kept) == kept
