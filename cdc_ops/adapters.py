"""The composition root: one Settings in, every adapter the control plane uses out.

This is the only place that branches on `env` (local or aws) or on a backend name. The Dagster
resource (one `Adapters` per run or sensor tick), the Lambdas (one per invocation) and the CLI (one
per command) all get their adapters here; everything else takes what it needs as an argument.
Each adapter is built on first use and kept: a run that reads only the cluster never asks for
Kafka or Confluent settings, and the auto-stop Lambda needs neither database nor Kafka.

The local stack's adapters (its PostgreSQL as the cluster, PgBouncer as the proxy, the record of
the statements its Flink runs) live in the operator tooling, `cdc_ops.tools.stack`; they are
imported only when env=local asks for them, so the Lambda zips, which run in aws, carry none of it.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from cdc_ops.clock import Clock, utc_now
from cdc_ops.errors import SettingsError
from cdc_ops.settings import Environment, Settings

# Each adapter's module is imported when the adapter is first asked for: a Lambda's cold start
# pays only for what it uses (boto3 for the auto-stop, nothing of httpx or confluent-kafka).
if TYPE_CHECKING:
    from cdc_ops.alerts.delivery import Alerter, Destination
    from cdc_ops.canary.api import CanaryProducerApi
    from cdc_ops.cluster.activity import ApiActivityReader
    from cdc_ops.cluster.auto_stop import Policy
    from cdc_ops.cluster.control import ClusterController
    from cdc_ops.cluster.state import ClusterObserver
    from cdc_ops.connector.backends import ConnectorBackend
    from cdc_ops.connector.metrics import ConnectorMetricsReader
    from cdc_ops.flink.runtime import StatementRuntimeReader
    from cdc_ops.flink.statements import StatementBackend
    from cdc_ops.kafka.topics import TopicAdmin
    from cdc_ops.producer.autostart import AutoStarter
    from cdc_ops.proxy.saturation import ProxyReader
    from cdc_ops.tools.stack import Stack

# Connect's REST answers 409 while its cluster rebalances: retried this many times
CONNECT_ATTEMPTS = 5


class Adapters:
    """Every adapter, built from these settings on first use."""

    def __init__(self, settings: Settings, clock: Clock = utc_now) -> None:
        self.settings = settings
        self.clock = clock

    @property
    def local(self) -> bool:
        return self.settings.env is Environment.LOCAL

    def aws(self, service: str) -> Any:
        """A boto3 client (moto's server locally)."""
        from cdc_ops.clients.aws import client

        return client(service, self.settings)

    @cached_property
    def stack(self) -> Stack:
        """The local stack (env=local only)."""
        if not self.local:
            raise SettingsError("the local stack exists only with env=local")
        from cdc_ops.tools.stack import Stack

        return Stack(self.settings)

    @cached_property
    def cluster_observer(self) -> ClusterObserver:
        from cdc_ops.cluster.state import RdsClusterObserver

        if self.local:
            from cdc_ops.tools.stack.adapters import LocalClusterObserver

            return LocalClusterObserver(self.stack, self.aws("rds"))
        return RdsClusterObserver(self.aws("rds"), self.settings.names.cluster_id or "")

    @cached_property
    def cluster_controller(self) -> ClusterController:
        from cdc_ops.cluster.control import ClusterController, RdsPower

        rds = self.aws("rds")
        if self.local:
            from cdc_ops.tools.stack.adapters import LocalPower

            power: Any = LocalPower(self.stack, rds)
        else:
            power = RdsPower(rds)
        hold = None
        if self.settings.connector.backend is not None:
            from cdc_ops.cluster.connector_hold import ConnectorHold

            hold = ConnectorHold(lambda: self.connector_backend, rds, self.clock)
        cluster_id = self.settings.names.cluster_id or ""
        return ClusterController(rds, cluster_id, power, self.clock, hold)

    @cached_property
    def activity_reader(self) -> ApiActivityReader:
        from cdc_ops.cluster.activity import ApiActivityReader

        s = self.settings
        return ApiActivityReader(
            self.aws("cloudwatch"), s.names.api_name or "", s.auto_stop.metric_period_s
        )

    @cached_property
    def auto_stop_policy(self) -> Policy:
        from cdc_ops.cluster.auto_stop import Policy

        return Policy.from_settings(self.settings)

    @cached_property
    def proxy_reader(self) -> ProxyReader:
        from cdc_ops.proxy.saturation import CloudWatchProxyReader

        if self.local:
            from cdc_ops.tools.stack.adapters import PgBouncerProxyReader

            return PgBouncerProxyReader(self.stack)
        monitor = self.settings.proxy
        return CloudWatchProxyReader(
            self.aws("cloudwatch"),
            self.settings.proxy_names,
            monitor.metric_period_s,
            monitor.lookback_s,
        )

    @cached_property
    def connector_backend(self) -> ConnectorBackend:
        import httpx

        from cdc_ops.connector.backends import ConnectorError, KafkaConnectBackend

        c = self.settings.connector
        if c.backend == "kafka_connect":
            if not c.connect_url:
                raise ConnectorError("connector.backend=kafka_connect needs connector.connect_url")
            http = httpx.Client(timeout=c.request_timeout_s)
            return KafkaConnectBackend(c.connect_url, c.name, http, attempts=CONNECT_ATTEMPTS)
        if c.backend == "confluent_cloud":
            if not (
                c.confluent_environment
                and c.confluent_cluster
                and c.confluent_api_key
                and c.confluent_api_secret
            ):
                raise ConnectorError(
                    "connector.backend=confluent_cloud needs connector.confluent_environment,"
                    " confluent_cluster, confluent_api_key and confluent_api_secret"
                )
            from cdc_ops.connector.confluent_cloud import ConfluentCloudBackend

            return ConfluentCloudBackend(
                c.confluent_url,
                c.confluent_environment,
                c.confluent_cluster,
                c.name,
                c.confluent_api_key.get_secret_value(),
                c.confluent_api_secret.get_secret_value(),
                attempts=CONNECT_ATTEMPTS,
            )
        raise ConnectorError(f"connector.backend={c.backend!r} is not a connector backend")

    @cached_property
    def connector_metrics(self) -> ConnectorMetricsReader:
        """What the connector is doing: Debezium's JMX metrics through the worker's Jolokia
        agent, or Confluent Cloud's Metrics API for a managed connector."""
        from cdc_ops.connector.metrics import NoMetrics

        c = self.settings.connector
        if c.backend == "kafka_connect":
            if not c.jolokia_url:
                return NoMetrics("connector.jolokia_url is not set: no Jolokia agent to read")
            import httpx

            from cdc_ops.connector.jolokia import DebeziumJolokiaMetrics

            http = httpx.Client(timeout=c.request_timeout_s)
            return DebeziumJolokiaMetrics(c.jolokia_url, self.settings.names.project, http)
        if c.backend == "confluent_cloud":
            from cdc_ops.connector.backends import ConnectorError
            from cdc_ops.connector.confluent_metrics import ConfluentConnectorMetrics

            backend: Any = self.connector_backend
            try:
                # the Metrics API filters on the connector's id (lcc-...), not its name
                connector_id = backend.resource_id()
            except ConnectorError as exc:
                return NoMetrics(f"the connector's id could not be read: {exc}")
            if connector_id is None:
                return NoMetrics(f"connector {c.name} does not exist on Confluent Cloud")
            assert c.confluent_api_key is not None and c.confluent_api_secret is not None
            return ConfluentConnectorMetrics(
                c.confluent_metrics_url,
                connector_id,
                c.confluent_api_key.get_secret_value(),
                c.confluent_api_secret.get_secret_value(),
            )
        return NoMetrics("no connector backend is configured")

    @cached_property
    def statement_backend(self) -> StatementBackend:
        from cdc_ops.flink.statements import StatementError

        f = self.settings.flink
        if f.backend == "sql_gateway":
            if not (f.gateway_url and f.jobmanager_url):
                raise StatementError(
                    "flink.backend=sql_gateway needs flink.gateway_url and flink.jobmanager_url"
                )
            from cdc_ops.flink.sql_gateway import SqlGatewayStatements

            gateway = SqlGatewayStatements(
                f.gateway_url,
                f.jobmanager_url,
                start_timeout_s=f.start_timeout_s,
                savepoint_timeout_s=f.savepoint_timeout_s,
            )
            if not self.local:
                return gateway
            # the stack's JobManager forgets its jobs when it stops: `up` deploys them again
            from cdc_ops.tools.stack.flink import FlinkLayout, RecordedStatements

            return RecordedStatements(gateway, FlinkLayout(self.settings).record)
        if f.backend == "confluent_cloud":
            needed = {
                "confluent_url": f.confluent_url,
                "confluent_organization": f.confluent_organization,
                "confluent_environment": f.confluent_environment,
                "confluent_compute_pool": f.confluent_compute_pool,
                "confluent_principal": f.confluent_principal,
                "confluent_catalog": f.confluent_catalog,
                "confluent_database": f.confluent_database,
                "confluent_api_key": f.confluent_api_key,
                "confluent_api_secret": f.confluent_api_secret,
            }
            missing = [f"flink.{k}" for k, v in needed.items() if not v]
            if missing:
                raise StatementError(f"flink.backend=confluent_cloud needs {', '.join(missing)}")
            from cdc_ops.flink.cloud_deploy import CloudStatementBackend
            from cdc_ops.flink.confluent_cloud import ConfluentCloudStatements

            statements = ConfluentCloudStatements(
                f.confluent_url,
                f.confluent_organization,
                f.confluent_environment,
                f.confluent_compute_pool,
                f.confluent_principal,
                f.confluent_catalog,
                f.confluent_database,
                f.confluent_api_key.get_secret_value(),
                f.confluent_api_secret.get_secret_value(),
            )  # type: ignore[arg-type]
            return CloudStatementBackend(statements, start_timeout_s=f.start_timeout_s)
        raise StatementError(f"flink.backend={f.backend!r} is not a statements backend")

    @cached_property
    def statement_runtime(self) -> StatementRuntimeReader:
        """What each statement's job is doing: the JobManager's REST API beside the SQL Gateway;
        Confluent Cloud's statements API publishes no such figures."""
        from cdc_ops.flink import runtime

        f = self.settings.flink
        if f.backend == "sql_gateway" and f.jobmanager_url:
            return runtime.JobManagerRuntime(f.jobmanager_url)
        return runtime.NoRuntime(f"flink.backend={f.backend} publishes no job runtime")

    @cached_property
    def canary_api(self) -> CanaryProducerApi:
        """Where the canary sends its events: the producer API over HTTP when its URL is set,
        else (locally) the producer API's handler, called in this process."""
        from cdc_ops.canary import api

        url = self.settings.canary.api_url
        if url:
            return api.HttpProducerApi(url)
        if self.local:
            return api.InProcessProducerApi(self.settings)
        raise SettingsError("canary.enabled in aws needs canary.api_url (the producer API's URL)")

    def topic_admin(self, timeout_s: float | None = None) -> TopicAdmin:
        from cdc_ops.kafka.topics import TopicAdmin  # confluent-kafka: not in the Lambda zips

        return TopicAdmin(self.settings, timeout_s=timeout_s)

    @cached_property
    def alert_destinations(self) -> list[Destination]:
        import httpx

        from cdc_ops.alerts.delivery import LogDestination, SnsDestination, WebhookDestination

        cfg = self.settings.alerts
        chosen: list[Destination] = []
        for name in cfg.destinations:
            if name == "log":
                chosen.append(LogDestination())
            elif name == "sns":
                chosen.append(SnsDestination(self.aws("sns"), cfg.sns_topic_arn or ""))
            elif name == "webhook" and cfg.webhook_url:
                http = httpx.Client(timeout=cfg.request_timeout_s)
                chosen.append(WebhookDestination(cfg.webhook_url.get_secret_value(), http))
        return chosen

    @cached_property
    def alerter(self) -> Alerter:
        from cdc_ops.alerts.delivery import Alerter

        return Alerter(self.settings, self.alert_destinations)

    @cached_property
    def auto_starter(self) -> AutoStarter:
        from cdc_ops.producer.autostart import (
            LOCAL_AUTO_START,
            AskOncePerCooldown,
            InProcessAutoStarter,
            LambdaAutoStarter,
            NoAutoStart,
        )

        api = self.settings.producer_api
        starter: AutoStarter
        if api.auto_start == "lambda":
            starter = LambdaAutoStarter(api.auto_start_function or "", self.aws("lambda"))
        elif api.auto_start == "in_process":
            starter = InProcessAutoStarter(api.auto_start_function or LOCAL_AUTO_START)
        else:
            return NoAutoStart()
        return AskOncePerCooldown(starter, api.auto_start_cooldown_s)
