"""The auto-stop and auto-start Lambdas as deployed: env=aws, only names and AWS settings (moto
standing in), no database or Kafka configuration."""

from __future__ import annotations

import uuid

import pytest

from cdc_ops.clients.aws import client
from cdc_ops.tools.stack import Stack

pytestmark = pytest.mark.e2e


def test_auto_stop_then_auto_start_with_only_aws_settings(
    local_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    rds = client("rds", local_stack.settings)
    cluster = f"lambda-test-{uuid.uuid4().hex[:6]}"
    rds.create_db_cluster(
        DBClusterIdentifier=cluster,
        Engine="aurora-postgresql",
        MasterUsername="u",
        MasterUserPassword="password1",
    )
    for key in [k for k in __import__("os").environ if k.startswith("CDC_OPS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("CDC_OPS_ENV", "aws")
    monkeypatch.setenv("CDC_OPS_AWS__ENDPOINT_URL", local_stack.settings.aws.endpoint_url or "")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "moto")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "moto")
    monkeypatch.setenv("CDC_OPS_NAMES__CLUSTER_ID", cluster)
    monkeypatch.setenv("CDC_OPS_NAMES__API_NAME", f"api-{cluster}")

    from lambdas.auto_start.handler import handler as auto_start
    from lambdas.auto_stop.handler import handler as auto_stop

    stopped = auto_stop({}, None)
    assert (stopped["action"], stopped["outcome"]) == ("stop", "stopped")
    assert stopped["reason"] == "no API request in the last 3h"
    assert rds.describe_db_clusters(DBClusterIdentifier=cluster)["DBClusters"][0]["Status"] == (
        "stopped"
    )
    started = auto_start({"source": "producer-api"}, None)
    assert started == {
        "status": "started",
        "cluster_status": "stopped",
        "reason": "auto-start requested by producer-api",
    }
    assert auto_start({"source": "producer-api"}, None)["status"] == "already available"
