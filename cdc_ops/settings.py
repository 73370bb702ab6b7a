"""One typed settings model for the whole control plane.

Sources, highest priority first: keyword overrides, environment variables (``CDC_OPS_`` prefix,
``__`` between nested keys, e.g. ``CDC_OPS_LOCAL__PORTS__KAFKA=19092``), then an optional YAML file
(``CDC_OPS_CONFIG`` or ``./cdc-ops.yaml``). ``env`` picks ``local`` or ``aws``; the local stack's
endpoints are filled in from its ports so nothing else needs to know which one is in use.
"""

from __future__ import annotations

import contextvars
import difflib
import functools
import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from cdc_ops.errors import SettingsError

ENV_PREFIX = "CDC_OPS_"
CONFIG_ENV_VAR = "CDC_OPS_CONFIG"
DEFAULT_CONFIG_FILE = Path("cdc-ops.yaml")
GiB = 1024**3
# CDC_OPS_* variables that are not settings: the settings file's path, and the storage URL that
# `cdc-ops dev` hands to Dagster's processes (dagster.yaml reads it from the environment)
NOT_SETTINGS = frozenset({CONFIG_ENV_VAR, "CDC_OPS_DAGSTER_STORAGE_URL"})


# The seeds' deployment environments: dev minimal, test with proxy and auto-stop, prod without.
DeployEnvironment = Literal["dev", "test", "prod"]


class Environment(StrEnum):
    LOCAL = "local"
    AWS = "aws"


class _Section(BaseModel):
    # A misspelt key is an error, never silently ignored.
    model_config = ConfigDict(extra="forbid", validate_default=True)


class LocalPorts(_Section):
    """Every port the local stack listens on (Connect and the SQL Gateway would both take 8083
    by default: each has its own here)."""

    postgres: int = Field(55432, ge=1, le=65535)
    pgbouncer: int = Field(56432, ge=1, le=65535)
    kafka: int = Field(59092, ge=1, le=65535)
    # the KRaft controller listener of the same node
    kafka_controller: int = Field(59093, ge=1, le=65535)
    moto: int = Field(55000, ge=1, le=65535)
    connect: int = Field(58083, ge=1, le=65535)
    # the JobManager's REST API and web UI, and its RPC endpoint
    flink: int = Field(58081, ge=1, le=65535)
    flink_rpc: int = Field(56123, ge=1, le=65535)
    sql_gateway: int = Field(58084, ge=1, le=65535)
    # the Jolokia JVM agent in the Connect worker: Debezium's JMX metrics over HTTP
    connect_jolokia: int = Field(58778, ge=1, le=65535)

    @model_validator(mode="after")
    def _distinct(self) -> LocalPorts:
        seen: dict[int, str] = {}
        for name, port in self.model_dump().items():
            if port in seen:
                raise ValueError(f"ports.{name} and ports.{seen[port]} are both {port}")
            seen[port] = name
        return self


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cdc-ops"


class LocalStack(_Section):
    """The local stack that stands in for AWS and Confluent on this machine."""

    state_dir: Path = Path(".cdc-ops")
    host: str = "127.0.0.1"
    ports: LocalPorts = Field(default_factory=LocalPorts)
    # initdb, postgres and pgbouncer refuse to run as root; they run as this user then.
    os_user: str = "postgres"
    postgres_bin_dir: Path = Path("/usr/lib/postgresql/15/bin")
    pgbouncer_bin: Path = Path("/usr/sbin/pgbouncer")
    pgbouncer_pool_size: int = Field(5, ge=1)
    pgbouncer_max_client_conn: int = Field(200, ge=1)
    ready_timeout_s: float = Field(90.0, gt=0)
    # jvm/pom.xml's jars and the Flink distribution, resolved by scripts/setup.sh
    cache_dir: Path = Field(default_factory=_default_cache_dir)
    java_bin: Path = Path("java")
    # sized for 2 cores / 24 GB with everything else of the stack beside them
    kafka_heap_mb: int = Field(512, ge=128)
    connect_heap_mb: int = Field(512, ge=128)
    flink_jobmanager_mb: int = Field(1024, ge=768)
    flink_taskmanager_mb: int = Field(1536, ge=1024)
    # one slot per filter statement, and room for a replacement to start beside the old one
    flink_task_slots: int = Field(8, ge=1)
    sql_gateway_heap_mb: int = Field(384, ge=128)
    flink_checkpoint_interval_s: float = Field(2.0, gt=0)


class Database(_Section):
    """PostgreSQL: the cluster endpoint (replication, admin) and the proxy endpoint (API)."""

    name: str = "car_entities"
    user: str = "cdc_ops"
    # Only the local stack has a default (a throw-away one); in aws set CDC_OPS_DATABASE__PASSWORD.
    password: SecretStr | None = None
    # or read it at run time from this Secrets Manager secret (RDS-managed: JSON with "password"),
    # so it is in no env var; Terraform passes the cluster's secret here
    password_secret_arn: str | None = None
    password_reuse_s: int = Field(300, ge=1)
    cluster_host: str | None = None
    cluster_port: int = 5432
    proxy_host: str | None = None
    proxy_port: int = 5432
    connect_timeout_s: int = Field(5, ge=1)


class Aws(_Section):
    region: str = "us-east-1"
    # moto's address in local mode; None means the real AWS endpoints.
    endpoint_url: str | None = None
    # Unset: boto3's default credential chain. Local mode fills in moto's dummy pair.
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None


class Kafka(_Section):
    bootstrap_servers: str | None = None
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    request_timeout_s: float = Field(10.0, gt=0)


class ResourceNames(_Section):
    """Names shared with Terraform, so what is observed is what was created."""

    project: str = "cdc-streaming"
    environment: DeployEnvironment = "test"
    cluster_id: str | None = None
    proxy_name: str | None = None
    api_name: str | None = None
    replication_slot: str = "business_events_cdc_slot"
    publication: str = "business_events_publication"
    heartbeat_table: str = "cdc_heartbeat"
    # Debezium's signalling table (incremental snapshots on demand), in the publication
    signal_table: str = "cdc_signal"
    raw_topic: str = "raw-business-events"
    raw_topic_partitions: int = Field(3, ge=1)
    filtered_topics: list[str] = [
        "filtered-loan-created-events",
        "filtered-loan-payment-submitted-events",
        "filtered-service-events",
        "filtered-car-created-events",
    ]
    filtered_topic_partitions: int = Field(3, ge=1)

    @model_validator(mode="after")
    def _derive_names(self) -> ResourceNames:
        prefix = f"{self.project}-{self.environment}"
        self.cluster_id = self.cluster_id or f"{prefix}-aurora"
        self.proxy_name = self.proxy_name or f"{prefix}-proxy"
        self.api_name = self.api_name or f"{prefix}-producer-api"
        return self

    @property
    def topics(self) -> list[str]:
        return [self.raw_topic, *self.filtered_topics]


class Thresholds(_Section):
    slot_lag_warn_bytes: int = Field(1 * GiB, ge=0)
    slot_lag_critical_bytes: int = Field(10 * GiB, ge=0)
    slot_inactive_max_s: int = Field(600, ge=0)
    borrow_latency_warn_ms: float = Field(100.0, ge=0)
    borrow_latency_critical_ms: float = Field(1000.0, ge=0)
    borrowed_ratio_warn: float = Field(0.8, gt=0, le=1)
    # any session pinned to a database connection defeats RDS Proxy's multiplexing
    pinned_sessions_warn: int = Field(1, ge=1)
    # how far the connector's last event was behind the source (Debezium's
    # MilliSecondsBehindSource) before its lag check fails
    connector_lag_warn_ms: int = Field(60_000, ge=0)
    # a canary slower than this from the producer API to its route's filtered topic warns
    pipeline_latency_warn_ms: int = Field(5_000, ge=0)
    # a statement's job whose busiest task is backpressured more than this share of the time
    statement_backpressure_warn_ratio: float = Field(0.5, gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.slot_lag_critical_bytes < self.slot_lag_warn_bytes:
            raise ValueError("slot_lag_critical_bytes must be >= slot_lag_warn_bytes")
        if self.borrow_latency_critical_ms < self.borrow_latency_warn_ms:
            raise ValueError("borrow_latency_critical_ms must be >= borrow_latency_warn_ms")
        return self


class ProducerApi(_Section):
    """The producer API Lambdas (and `cdc-ops api serve` locally)."""

    max_body_bytes: int = Field(256 * 1024, ge=1024)
    # One small pool per Lambda container, reused across invocations.
    pool_max_size: int = Field(2, ge=1)
    pool_timeout_s: float = Field(5.0, gt=0)
    # Bound on one request's database work; API Gateway gives up after 29 s.
    query_timeout_s: float = Field(10.0, gt=0)
    retry_after_s: int = Field(120, ge=1)
    # How a connection failure reaches the auto-start function: "lambda" (boto3 invoke of
    # auto_start_function), "in_process" (locally: call the handler directly) or "off".
    auto_start: Literal["lambda", "in_process", "off"] | None = None
    auto_start_function: str | None = None
    # a container that asked for a start this recently does not ask again (0: every 503 asks)
    auto_start_cooldown_s: float = Field(60.0, ge=0)
    serve_host: str = "127.0.0.1"
    serve_port: int = Field(8080, ge=1, le=65535)


class Dsql(_Section):
    """Aurora DSQL: IAM token auth in aws; locally the stack's PostgreSQL with its password."""

    host: str | None = None
    port: int = 5432
    database: str = "postgres"
    user: str = "admin"
    auth: Literal["iam", "password"] | None = None
    # DSQL only accepts TLS; the local stand-in has none
    sslmode: str | None = None
    region: str | None = None
    # DSQL tokens last 15 minutes by default; one is reused for 14 and then replaced.
    token_ttl_s: int = Field(900, ge=60)
    token_reuse_s: int = Field(840, ge=1)

    @model_validator(mode="after")
    def _reuse_within_ttl(self) -> Dsql:
        if self.token_reuse_s >= self.token_ttl_s:
            raise ValueError("token_reuse_s must be shorter than token_ttl_s")
        return self


class AutoStop(_Section):
    """The hourly inactivity auto-stop of the Aurora cluster (the seeds' cost saver)."""

    # Only these environments are ever stopped; prod never is, whatever this list says.
    environments: list[DeployEnvironment] = ["test"]
    inactivity_window_h: float = Field(3.0, gt=0)
    # CloudWatch period of the AWS/ApiGateway Count query (API Gateway publishes per minute)
    metric_period_s: int = Field(300, ge=1)
    # a cluster tagged with this key and a value of off/false/disabled/no is left alone
    opt_out_tag: str = "cdc-ops:auto-stop"
    cron: str = "0 * * * *"
    # what one hour of the cluster's compute costs (all instances), for the savings figure
    hourly_price_usd: float = Field(0.58, ge=0)

    @model_validator(mode="after")
    def _never_prod(self) -> AutoStop:
        if "prod" in self.environments:
            raise ValueError("auto_stop.environments may not include prod")
        return self


class Alerts(_Section):
    """Where alerts go and how often a standing one is repeated."""

    destinations: list[Literal["log", "sns", "webhook"]] = ["log"]
    sns_topic_arn: str | None = None
    # a Slack-compatible incoming webhook; its URL carries a token, so it is a secret
    webhook_url: SecretStr | None = None
    cooldown_s: int = Field(3600, ge=0)
    retry_attempts: int = Field(3, ge=1)
    retry_backoff_s: float = Field(1.0, ge=0)
    # each destination's request, and all deliveries of one sensor tick together: well under
    # Dagster's 60 s tick timeout, so a dead webhook cannot lose the cursor (and resend)
    request_timeout_s: float = Field(5.0, gt=0)
    tick_budget_s: float = Field(20.0, gt=0, le=45)
    # how often the cluster-availability and slot-lag sensors read their component
    sensor_interval_s: int = Field(60, ge=1)
    runbook_base_url: str = "docs/runbook.md"

    @model_validator(mode="after")
    def _destinations_configured(self) -> Alerts:
        if "sns" in self.destinations and not self.sns_topic_arn:
            raise ValueError("destination sns needs alerts.sns_topic_arn")
        if "webhook" in self.destinations and not self.webhook_url:
            raise ValueError("destination webhook needs alerts.webhook_url")
        return self


class Connector(_Section):
    """The CDC source connector and where it runs."""

    name: str = "business-events-cdc"
    # debezium (Kafka Connect), confluent_v2 (PostgresCdcSourceV2), confluent_fixed and
    # confluent_basic (PostgresCdcSource with and without ExtractNewRecordState)
    variant: Literal["debezium", "confluent_v2", "confluent_fixed", "confluent_basic"] = "debezium"
    # where it runs: a Kafka Connect worker's REST API (the local stack's, or a self-managed one
    # on AWS), or Confluent Cloud's Connect API
    backend: Literal["kafka_connect", "confluent_cloud"] | None = None
    connect_url: str | None = None
    confluent_environment: str | None = None
    confluent_cluster: str | None = None
    confluent_api_key: SecretStr | None = None
    confluent_api_secret: SecretStr | None = None
    confluent_url: str = "https://api.confluent.cloud"
    heartbeat_interval_ms: int = Field(10_000, ge=100)
    # how long Debezium waits for more changes before it hands over a batch (its default: 500).
    # On Kafka Connect 50 ms gave insert-to-topic p99 149 ms against 250 ms at 100 (cdc_latency)
    poll_interval_ms: int = Field(50, ge=1)
    # Debezium's own retries of a retriable error (10 s apart) before the task FAILS; -1: no end
    errors_max_retries: int = Field(3, ge=-1)
    snapshot_mode: str = "initial"
    # connector-health sensor: restart failed tasks after n*n+n minutes, at most this often
    max_restarts: int = Field(5, ge=0)
    restart_backoff_cap_s: int = Field(3600, ge=1)
    health_interval_s: int = Field(60, ge=5)
    request_timeout_s: float = Field(15.0, gt=0)
    # Debezium's JMX metrics through the worker's Jolokia agent (local fills it; on AWS the
    # self-managed worker's agent, or none: the metrics then show as unavailable)
    jolokia_url: str | None = None
    # Confluent Cloud's Metrics API, for the managed connector's figures
    confluent_metrics_url: str = "https://api.telemetry.confluent.cloud"
    # after cdc-ops starts the cluster and resumes the connector, the slot must be active
    # within this long, or the resume alerts
    resume_timeout_s: int = Field(180, ge=1)


class ConsumerSpec(_Section):
    name: str
    topic: str
    group: str

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.topic}-dlq"


def _seed_consumers() -> list[ConsumerSpec]:
    return [
        ConsumerSpec(
            name="loan", topic="filtered-loan-created-events", group="loan-consumer-group"
        ),
        ConsumerSpec(
            name="loan-payment",
            topic="filtered-loan-payment-submitted-events",
            group="loan-payment-consumer-group",
        ),
        ConsumerSpec(
            name="service", topic="filtered-service-events", group="service-consumer-group"
        ),
        ConsumerSpec(name="car", topic="filtered-car-created-events", group="car-consumer-group"),
    ]


class Consumers(_Section):
    """The pipeline's consumers (the seeds' four); each joins its group by subscribe()."""

    consumers: list[ConsumerSpec] = Field(default_factory=_seed_consumers)
    lag_warn_messages: int = Field(1000, ge=0)

    def get(self, name: str) -> ConsumerSpec:
        for spec in self.consumers:
            if spec.name == name:
                return spec
        known = ", ".join(c.name for c in self.consumers)
        raise ValueError(f"unknown consumer {name!r}; choose from {known}")


class Flink(_Section):
    """Where the filter statements run: a Flink SQL Gateway and its session cluster (the local
    stack's, or self-managed on AWS), or Confluent Cloud for Apache Flink."""

    backend: Literal["confluent_cloud", "sql_gateway"] | None = None
    target: Literal["apache-flink", "confluent", "confluent-no-op"] | None = None
    start_timeout_s: float = Field(180.0, gt=0)
    # backend sql_gateway: how long a replaced statement's job may take to stop with a savepoint
    savepoint_timeout_s: float = Field(60.0, gt=0)
    # backend sql_gateway: the gateway's REST API, and the JobManager's (job state, stop)
    gateway_url: str | None = None
    jobmanager_url: str | None = None
    # Confluent Cloud for Apache Flink (backend confluent_cloud)
    confluent_url: str | None = None  # e.g. https://flink.us-east-1.aws.confluent.cloud
    confluent_organization: str | None = None
    confluent_environment: str | None = None
    confluent_compute_pool: str | None = None
    confluent_principal: str | None = None
    # the catalog is the environment's name, the database the Kafka cluster's
    confluent_catalog: str | None = None
    confluent_database: str | None = None
    confluent_api_key: SecretStr | None = None
    confluent_api_secret: SecretStr | None = None


class Canary(_Section):
    """One synthetic event per route, timed from the producer API to its filtered topic."""

    # default: on in the local stack, off in aws until set
    enabled: bool | None = None
    # the producer API's base URL (API Gateway's stage URL in aws, or `cdc-ops api serve`);
    # unset locally, the canary calls the producer API's handler in this process
    api_url: str | None = None
    interval_minutes: int = Field(5, ge=1, le=60)
    # how long a canary may take to reach its filtered topic before its route counts it dropped
    timeout_s: float = Field(30.0, gt=0)


class ProxyMonitor(_Section):
    """RDS Proxy saturation (PgBouncer locally)."""

    # proxies to watch; default: names.proxy_name
    proxy_names: list[str] = []
    sensor_interval_s: int = Field(60, ge=5)
    metric_period_s: int = Field(60, ge=1)
    lookback_s: int = Field(300, ge=60)
    # how many recent ticks the rds_proxy asset keeps as its short time series
    series_length: int = Field(30, ge=1)


class DagsterUi(_Section):
    host: str = "127.0.0.1"
    port: int = Field(3000, ge=1, le=65535)
    # Defaults to <state_dir>/dagster; embedded SQLite storage lives there.
    home: Path | None = None
    # postgresql+psycopg2://... to use dagster-postgres storage instead of SQLite.
    postgres_storage_url: SecretStr | None = None


_yaml_data: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "_yaml_data", default=None
)


class _YamlDataSource(PydanticBaseSettingsSource):
    """The YAML file, already parsed by load_settings (which keeps its line numbers)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return (_yaml_data.get() or {}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_yaml_data.get() or {})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    env: Environment = Environment.LOCAL
    local: LocalStack = Field(default_factory=LocalStack)
    aws: Aws = Field(default_factory=Aws)
    database: Database = Field(default_factory=Database)
    kafka: Kafka = Field(default_factory=Kafka)
    names: ResourceNames = Field(default_factory=ResourceNames)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    dagster: DagsterUi = Field(default_factory=DagsterUi)
    producer_api: ProducerApi = Field(default_factory=ProducerApi)
    dsql: Dsql = Field(default_factory=Dsql)
    auto_stop: AutoStop = Field(default_factory=AutoStop)
    alerts: Alerts = Field(default_factory=Alerts)
    proxy: ProxyMonitor = Field(default_factory=ProxyMonitor)
    connector: Connector = Field(default_factory=Connector)
    flink: Flink = Field(default_factory=Flink)
    consumers: Consumers = Field(default_factory=Consumers)
    canary: Canary = Field(default_factory=Canary)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlDataSource(settings_cls))

    @model_validator(mode="after")
    def _fill_endpoints(self) -> Settings:
        if self.canary.enabled is None:
            self.canary.enabled = self.env is Environment.LOCAL
        if self.env is Environment.LOCAL:
            host, ports = self.local.host, self.local.ports
            self.database.cluster_host = self.database.cluster_host or host
            self.database.proxy_host = self.database.proxy_host or host
            if "cluster_port" not in self.database.model_fields_set:
                self.database.cluster_port = ports.postgres
            if "proxy_port" not in self.database.model_fields_set:
                self.database.proxy_port = ports.pgbouncer
            self.database.password = self.database.password or SecretStr("cdc-ops-local")
            self.kafka.bootstrap_servers = self.kafka.bootstrap_servers or f"{host}:{ports.kafka}"
            self.aws.endpoint_url = self.aws.endpoint_url or f"http://{host}:{ports.moto}"
            self.aws.access_key_id = self.aws.access_key_id or SecretStr("moto")
            self.aws.secret_access_key = self.aws.secret_access_key or SecretStr("moto")
            self.producer_api.auto_start = self.producer_api.auto_start or "in_process"
            # locally the DSQL handler talks to the stack's PostgreSQL with a password
            self.dsql.host = self.dsql.host or host
            if "port" not in self.dsql.model_fields_set:
                self.dsql.port = ports.postgres
            if "database" not in self.dsql.model_fields_set:
                self.dsql.database = self.database.name
            if "user" not in self.dsql.model_fields_set:
                self.dsql.user = self.database.user
            self.dsql.auth = self.dsql.auth or "password"
            self.dsql.sslmode = self.dsql.sslmode or "prefer"
            self.connector.backend = self.connector.backend or "kafka_connect"
            self.connector.connect_url = (
                self.connector.connect_url or f"http://{host}:{ports.connect}"
            )
            self.connector.jolokia_url = (
                self.connector.jolokia_url or f"http://{host}:{ports.connect_jolokia}/jolokia"
            )
            self.flink.backend = self.flink.backend or "sql_gateway"
            self.flink.gateway_url = self.flink.gateway_url or f"http://{host}:{ports.sql_gateway}"
            self.flink.jobmanager_url = self.flink.jobmanager_url or f"http://{host}:{ports.flink}"
            self.flink.target = self.flink.target or "apache-flink"
        else:
            # Endpoints are checked where they are used (require()): the auto-stop Lambda needs
            # no database or Kafka settings, the producer API no Kafka.
            self.database.proxy_host = self.database.proxy_host or self.database.cluster_host
            api = self.producer_api
            api.auto_start = api.auto_start or ("lambda" if api.auto_start_function else "off")
            if api.auto_start == "lambda" and not api.auto_start_function:
                raise ValueError(
                    "producer_api.auto_start=lambda needs producer_api.auto_start_function"
                )
            self.dsql.auth = self.dsql.auth or "iam"
            self.dsql.sslmode = self.dsql.sslmode or "require"
            c = self.connector
            c.backend = c.backend or (
                "confluent_cloud" if c.confluent_environment else "kafka_connect"
            )
            self.flink.backend = self.flink.backend or "confluent_cloud"
            # a self-managed Flink (the SQL Gateway) runs the open-source dialect
            open_source = self.flink.backend == "sql_gateway"
            self.flink.target = self.flink.target or (
                "apache-flink" if open_source else "confluent"
            )
        return self

    def require(self, *keys: str) -> None:
        """Fail, naming the key and its env var, if a setting a caller needs is not set."""
        missing = []
        for key in keys:
            value: Any = self
            for part in key.split("."):
                value = getattr(value, part)
            if not value:
                missing.append(f"{key} (env {ENV_PREFIX}{key.replace('.', '__').upper()})")
        if missing:
            raise SettingsError(f"env={self.env.value} needs {', '.join(missing)}")

    @property
    def proxy_names(self) -> list[str]:
        return self.proxy.proxy_names or [self.names.proxy_name or ""]

    def secret_values(self) -> list[str]:
        """Every secret in these settings, so that alert payloads can be scrubbed of them."""
        found: list[str] = []

        def walk(model: BaseModel) -> None:
            for name in type(model).model_fields:
                value = getattr(model, name)
                if isinstance(value, SecretStr) and value.get_secret_value():
                    found.append(value.get_secret_value())
                elif isinstance(value, BaseModel):
                    walk(value)

        walk(self)
        return found

    @property
    def state_dir(self) -> Path:
        return self.local.state_dir.resolve()

    @property
    def dagster_home(self) -> Path:
        return (self.dagster.home or self.state_dir / "dagster").resolve()


def _read_yaml(path: Path) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    # imported here: the Lambdas read no settings file, and PyYAML is a tenth of their cold import
    import yaml

    from cdc_ops.yaml_positions import positions

    try:
        text = path.read_text()
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read settings file: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text) or {}
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise SettingsError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"{path}:1: expected a mapping of settings, got {type(data).__name__}")
    return data, {path: line for path, (line, _col) in positions(node).items()}


def _describe(error: dict[str, Any], path: Path | None, lines: dict[tuple[str, ...], int]) -> str:
    loc = tuple(str(part) for part in error["loc"])
    key = ".".join(loc) or "(settings)"
    env_name = ENV_PREFIX + "__".join(loc).upper()
    if loc and env_name in os.environ:
        where = f"env {env_name}"
    else:
        # the closest key that the file has: an error on a nested model points at its parent
        where = ""
        for depth in range(len(loc), 0, -1):
            if loc[:depth] in lines and path is not None:
                where = f"{path}:{lines[loc[:depth]]}"
                break
    value = error.get("input")
    shown = (
        ""
        if isinstance(value, dict) or "password" in key or "secret" in key
        else f" (got {value!r})"
    )
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = f"unknown key; allowed here: {', '.join(_allowed_keys(loc[:-1]))}"
    return f"{key}: {message}{shown}" + (f" [{where}]" if where else "")


def _allowed_keys(loc: tuple[str, ...]) -> list[str]:
    model: type[BaseModel] = Settings
    for part in loc:
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return sorted(model.model_fields)


@functools.cache  # the model does not change within a process; the Lambdas load per invocation
def setting_env_names() -> frozenset[str]:
    """Every environment variable that names a setting or a section of them."""
    names: set[str] = set()

    def walk(model: type[BaseModel], path: tuple[str, ...]) -> None:
        for name, field in model.model_fields.items():
            names.add(ENV_PREFIX + "__".join((*path, name)).upper())
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                walk(field.annotation, (*path, name))

    walk(Settings, ())
    return frozenset(names)


def unknown_env_vars(environ: Mapping[str, str]) -> list[str]:
    """CDC_OPS_* variables that name no setting: each with the closest one, if any is close.
    pydantic-settings ignores them, so a misspelt one would silently leave the default."""
    known = setting_env_names() | NOT_SETTINGS
    problems = []
    for name in sorted(environ):
        upper = name.upper()
        if upper.startswith(ENV_PREFIX) and upper not in known:
            close = difflib.get_close_matches(upper, sorted(known), n=1, cutoff=0.8)
            hint = f"; did you mean {close[0]}?" if close else ""
            problems.append(f"env {name}: names no setting{hint}")
    return problems


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Read settings; every problem is reported at once, each naming its key and source."""
    unknown = unknown_env_vars(os.environ)
    if unknown:
        raise SettingsError("invalid settings:\n  " + "\n  ".join(unknown))
    path: Path | None = None
    if config_file is not None:
        path = Path(config_file)
    elif os.environ.get(CONFIG_ENV_VAR):
        path = Path(os.environ[CONFIG_ENV_VAR])
    elif DEFAULT_CONFIG_FILE.exists():
        path = DEFAULT_CONFIG_FILE
    data, lines = _read_yaml(path) if path else ({}, {})
    token = _yaml_data.set(data)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = [_describe(err, path, lines) for err in exc.errors()]
        raise SettingsError("invalid settings:\n  " + "\n  ".join(problems)) from None
    finally:
        _yaml_data.reset(token)
