"""The proxy-saturation sensor for real: against moto (CloudWatch in, SNS → SQS out) and against
the local PgBouncer under more clients than its pool allows."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dagster import DagsterInstance, build_sensor_context

from assets.keys import RDS_PROXY
from assets.resources import CdcOpsResource
from cdc_ops.adapters import Adapters
from cdc_ops.alerts.delivery import Alerter, LogDestination
from cdc_ops.clients.aws import client
from cdc_ops.proxy.load import ProxyLoad
from cdc_ops.settings import Settings, load_settings
from cdc_ops.tools.stack import Stack
from sensors.factory import run_tick
from sensors.proxy_saturation import build_proxy_saturation_sensor, proxy_saturation_verdict
from tests.helpers import Recorder

pytestmark = pytest.mark.e2e


def aws_settings(local: Settings, proxy: str, topic_arn: str) -> Settings:
    """env=aws, every AWS call to the session's moto server."""
    return load_settings(
        env="aws",
        aws={
            "endpoint_url": local.aws.endpoint_url,
            "access_key_id": "moto",
            "secret_access_key": "moto",
        },
        database={"cluster_host": "db.invalid", "password": "Sup3r-S3cret-PW"},
        kafka={"bootstrap_servers": "broker.invalid:9092"},
        alerts={"destinations": ["sns", "log"], "sns_topic_arn": topic_arn, "retry_backoff_s": 0},
        proxy={"proxy_names": [proxy], "metric_period_s": 60, "lookback_s": 600},
    )


def borrow_latency(local: Settings, proxy: str, at: datetime, micros: float) -> None:
    client("cloudwatch", local).put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": "DatabaseConnectionsBorrowLatency",
                "Dimensions": [{"Name": "ProxyName", "Value": proxy}],
                "Timestamp": at,
                "Value": micros,
                "Unit": "Microseconds",
            },
        ],
    )


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        if not got.get("Messages"):
            return messages
        for m in got["Messages"]:
            messages.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


def test_one_alert_quiet_within_cooldown_then_resolved_via_sns(local_stack: Stack) -> None:
    local = local_stack.settings
    proxy = f"proxy-{uuid.uuid4().hex[:6]}"
    sns, sqs = client("sns", local), client("sqs", local)
    topic_arn = sns.create_topic(Name=f"alerts-{proxy}")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"alerts-{proxy}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    settings = aws_settings(local, proxy, topic_arn)
    now = datetime.now(UTC)

    borrow_latency(local, proxy, now - timedelta(minutes=3), 1_500_000)  # 1.5 s
    tick = run_tick(proxy_saturation_verdict, None, Adapters(settings))
    result, sent = tick.result, tick.notifications
    assert [n.kind for n in sent] == ["firing"]
    cursor = result.cursor
    for _ in range(3):  # within the cooldown: nothing more
        tick = run_tick(proxy_saturation_verdict, cursor, Adapters(settings))
        result, sent = tick.result, tick.notifications
        assert sent == []
        cursor = result.cursor

    borrow_latency(local, proxy, now - timedelta(minutes=1), 20_000)  # back to 20 ms
    tick = run_tick(proxy_saturation_verdict, cursor, Adapters(settings))
    result, sent = tick.result, tick.notifications
    assert [n.kind for n in sent] == ["resolved"]

    messages = drain(sqs, queue_url)
    assert [m["Subject"] for m in messages] == [
        f"[CRITICAL] {proxy}: clients wait 1500 ms to borrow a connection (over 1000 ms)",
        f"[RESOLVED] resolved: {proxy}: clients wait 1500 ms to borrow a connection (over 1000 ms)",
    ]
    body = json.loads(messages[0]["Message"])
    assert body["key"] == f"rds_proxy/{proxy}/borrow_latency"
    assert body["values"]["borrow_latency_ms"] == 1500.0
    assert body["runbook"] == "docs/runbook.md#proxy-borrow-latency"
    assert "Sup3r-S3cret-PW" not in json.dumps(messages)
    # the rds_proxy asset's figures and series ride on the sensor's result
    observation, check = result.asset_events
    assert observation.asset_key == RDS_PROXY and check.check_name == "proxy_not_saturated"
    assert observation.metadata["borrow_latency_ms"].value == 20.0
    assert len(observation.metadata["recent"].value) == 5


def test_local_pgbouncer_under_load_fires_with_the_measured_wait(local_stack: Stack) -> None:
    settings = local_stack.settings
    recorder = Recorder()
    alerter = Alerter(settings, [recorder, LogDestination()])
    pool = settings.local.pgbouncer_pool_size
    load = ProxyLoad(settings, clients=4 * pool, query_s=0.4).start()
    cursor, fired = None, []
    try:
        deadline = time.monotonic() + 20
        while not fired:
            assert time.monotonic() < deadline, "no saturation alert under load"
            time.sleep(0.5)
            tick = run_tick(proxy_saturation_verdict, cursor, Adapters(settings), alerter)
            result, sent = tick.result, tick.notifications
            cursor = result.cursor
            fired = [n for n in sent if n.alert.key.endswith("/borrow_latency")]
    finally:
        report = load.stop()
    assert report.errors == 0 and report.queries > 0
    waited = fired[0].alert.values["borrow_latency_ms"]
    assert waited > settings.thresholds.borrow_latency_warn_ms
    assert f"clients wait {waited:.0f} ms" in fired[0].alert.summary
    assert fired[0].alert.values["clients_waiting"] > 0

    # the clients are gone; PgBouncer's figures settle within moments
    deadline = time.monotonic() + 15
    while not any(
        b["kind"] == "resolved" and b["key"].endswith("/borrow_latency") for b in recorder.bodies
    ):
        assert time.monotonic() < deadline, "the saturation alert never resolved"
        time.sleep(0.5)
        tick = run_tick(proxy_saturation_verdict, cursor, Adapters(settings), alerter)
        result, sent = tick.result, tick.notifications
        cursor = result.cursor
        assert {n.kind for n in sent} <= {"resolved"}
    assert any(
        b["key"].endswith("/borrow_latency") and b["kind"] == "resolved" for b in recorder.bodies
    )


def test_the_dagster_sensor_runs_a_tick_and_keeps_its_cursor(local_stack: Stack) -> None:
    sensor = build_proxy_saturation_sensor(local_stack.settings)
    assert sensor.minimum_interval_seconds == 60
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance, resources={"cdc_ops": CdcOpsResource()})
        result = sensor(context)
    state = json.loads(result.cursor)
    assert state["alerts"] == "{}" and len(state["memory"]["series"]) == 1
    assert result.asset_events[0].metadata["source"].value == "pgbouncer"
