from __future__ import annotations

from pathlib import Path

import pytest

from cdc_ops.errors import SettingsError
from cdc_ops.settings import Environment, load_settings, setting_env_names, unknown_env_vars


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in list(__import__("os").environ):
        if key.startswith("CDC_OPS_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_are_local_with_endpoints_from_the_stack_ports(clean_env: Path) -> None:
    s = load_settings()
    assert s.env is Environment.LOCAL
    assert (s.database.cluster_host, s.database.cluster_port) == ("127.0.0.1", 55432)
    # the API's endpoint is the proxy (PgBouncer locally), never the cluster itself
    assert s.database.proxy_port == s.local.ports.pgbouncer == 56432
    assert s.kafka.bootstrap_servers == "127.0.0.1:59092"
    assert s.aws.endpoint_url == "http://127.0.0.1:55000"
    assert s.names.cluster_id == "cdc-streaming-test-aurora"
    assert s.names.replication_slot == "business_events_cdc_slot"
    assert s.names.topics[0] == "raw-business-events" and len(s.names.topics) == 5


def test_yaml_file_then_env_vars_override(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / "cdc-ops.yaml").write_text(
        "names:\n  environment: dev\nlocal:\n  ports:\n    kafka: 19092\n    moto: 15000\n"
    )
    monkeypatch.setenv("CDC_OPS_LOCAL__PORTS__MOTO", "16000")
    s = load_settings()
    assert s.names.cluster_id == "cdc-streaming-dev-aurora"
    assert s.kafka.bootstrap_servers == "127.0.0.1:19092"
    assert s.aws.endpoint_url == "http://127.0.0.1:16000"


def test_explicit_endpoints_win_over_local_defaults(clean_env: Path) -> None:
    s = load_settings(kafka={"bootstrap_servers": "broker:9092"}, database={"cluster_port": 6000})
    assert s.kafka.bootstrap_servers == "broker:9092"
    assert s.database.cluster_port == 6000


def test_errors_name_key_file_line_and_value(clean_env: Path) -> None:
    bad = clean_env / "bad.yaml"
    bad.write_text("env: local\nlocal:\n  ports:\n    kafka: notaport\n    postgress: 1\n")
    with pytest.raises(SettingsError) as err:
        load_settings(bad)
    text = str(err.value)
    assert "local.ports.kafka: Input should be a valid integer" in text
    assert f"(got 'notaport') [{bad}:4]" in text
    assert (
        "local.ports.postgress: unknown key; allowed here: connect, connect_jolokia, flink,"
        " flink_rpc, kafka, kafka_controller, moto, pgbouncer, postgres, sql_gateway" in text
    )
    assert f"[{bad}:5]" in text


def test_error_from_env_var_names_the_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDC_OPS_THRESHOLDS__BORROWED_RATIO_WARN", "1.5")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert str(err.value).endswith(
        "thresholds.borrowed_ratio_warn: Input should be less than or equal to 1"
        " (got '1.5') [env CDC_OPS_THRESHOLDS__BORROWED_RATIO_WARN]"
    )


def test_aws_loads_without_endpoints_and_names_them_where_used(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The auto-stop Lambda has no database or Kafka settings, and needs none."""
    from cdc_ops.clients.postgres import conninfo
    from cdc_ops.kafka.topics import client_config

    monkeypatch.setenv("CDC_OPS_ENV", "aws")
    settings = load_settings()
    assert settings.names.cluster_id == "cdc-streaming-test-aurora"
    with pytest.raises(SettingsError) as err:
        conninfo(settings)
    assert str(err.value) == (
        "env=aws needs database.cluster_host (env CDC_OPS_DATABASE__CLUSTER_HOST),"
        " database.password (env CDC_OPS_DATABASE__PASSWORD)"
    )
    with pytest.raises(SettingsError, match=r"kafka.bootstrap_servers \(env CDC_OPS_KAFKA__"):
        client_config(settings)


def test_aws_uses_real_endpoints(clean_env: Path) -> None:
    s = load_settings(
        env="aws",
        database={"cluster_host": "c.cluster-x.rds.amazonaws.com", "password": "pw"},
        kafka={"bootstrap_servers": "pkc.confluent.cloud:9092"},
    )
    assert s.aws.endpoint_url is None and s.aws.access_key_id is None
    assert s.database.proxy_host == "c.cluster-x.rds.amazonaws.com"
    assert s.database.cluster_port == 5432


def test_secrets_are_never_echoed(clean_env: Path) -> None:
    bad = clean_env / "s.yaml"
    bad.write_text("database:\n  password: [sekrit]\nkafka:\n  api_secret: 123456\n")
    with pytest.raises(SettingsError) as err:
        load_settings(bad)
    lines = str(err.value).splitlines()
    secret_lines = [ln for ln in lines if "database.password" in ln or "kafka.api_secret" in ln]
    assert len(secret_lines) == 2
    assert not any("sekrit" in ln or "123456" in ln for ln in secret_lines)
    dumped = load_settings(database={"password": "hunter2"}).model_dump_json()
    assert "hunter2" not in dumped


def test_invalid_yaml_reports_line_and_column(clean_env: Path) -> None:
    bad = clean_env / "broken.yaml"
    bad.write_text("local:\n  ports: [1, 2\n")
    with pytest.raises(SettingsError, match=rf"{bad}:3:1: not valid YAML"):
        load_settings(bad)


def test_ports_must_differ(clean_env: Path) -> None:
    with pytest.raises(SettingsError, match="ports.kafka and ports.postgres are both 5000"):
        load_settings(local={"ports": {"postgres": 5000, "kafka": 5000}})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"auto_stop": {"inactivity_window_h": -1}},
            "auto_stop.inactivity_window_h: Input should be greater than 0 (got -1)",
        ),
        (
            {"names": {"environment": "staging"}},
            "names.environment: Input should be 'dev', 'test' or 'prod' (got 'staging')",
        ),
        (
            {"auto_stop": {"environments": ["test", "prod"]}},
            "auto_stop: auto_stop.environments may not include prod",
        ),
        ({"dsql": {"token_reuse_s": 900}}, "dsql: token_reuse_s must be shorter than token_ttl_s"),
    ],
)
def test_lifecycle_settings_are_checked_at_load(clean_env: Path, overrides, message) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(**overrides)
    assert message in str(err.value)


def test_bad_window_in_a_file_names_key_and_line(clean_env: Path) -> None:
    (clean_env / "cdc-ops.yaml").write_text("auto_stop:\n  inactivity_window_h: -3\n")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "auto_stop.inactivity_window_h: Input should be greater than 0 (got -3)" in str(
        err.value
    )
    assert "[cdc-ops.yaml:2]" in str(err.value)


def test_a_misspelt_environment_variable_is_an_error_naming_it(monkeypatch) -> None:
    monkeypatch.setenv("CDC_OPS_DATABSE__PASSWORD", "x")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "env CDC_OPS_DATABSE__PASSWORD: names no setting" in str(err.value)
    assert "did you mean CDC_OPS_DATABASE__PASSWORD?" in str(err.value)


def test_every_setting_and_section_has_its_variable() -> None:
    names = setting_env_names()
    assert {"CDC_OPS_ENV", "CDC_OPS_LOCAL__PORTS", "CDC_OPS_LOCAL__PORTS__KAFKA"} <= names
    assert unknown_env_vars({"CDC_OPS_CONFIG": "x", "CDC_OPS_NAMES__RAW_TOPIC": "t"}) == []
