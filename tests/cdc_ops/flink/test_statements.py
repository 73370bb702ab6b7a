"""Statement backends against the documented Confluent Cloud (sql/v1) and SQL Gateway shapes."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from cdc_ops.flink.confluent_cloud import ConfluentCloudStatements
from cdc_ops.flink.sql_gateway import SqlGatewayStatements
from cdc_ops.flink.statements import ABSENT, StatementError

CC = "https://flink.us-east-1.aws.confluent.test"
BASE = f"{CC}/sql/v1/organizations/org-1/environments/env-1/statements"


def cloud() -> ConfluentCloudStatements:
    return ConfluentCloudStatements(
        CC,
        "org-1",
        "env-1",
        "lfcp-1",
        "sa-1",
        "env-1",
        "lkc-1",
        "FLINKKEY",
        "FLINKSECRET",
        sleep=lambda _s: None,
    )


def statement(name: str, phase: str, **spec) -> dict:
    return {
        "name": name,
        "metadata": {"resource_version": "7"},
        "spec": {"statement": "INSERT INTO ...", "stopped": False, **spec},
        "status": {
            "phase": phase,
            "detail": f"{phase.lower()} detail",
            "latest_offsets": {"raw-business-events": "partition:0,offset:42"},
        },
    }


@respx.mock
def test_replacing_a_statement_starts_from_the_old_ones_offsets() -> None:
    create = respx.post(BASE).mock(
        return_value=httpx.Response(200, json=statement("cdc-filter-x-v2", "PENDING"))
    )
    state = cloud().create(
        "cdc-filter-x-v2", "INSERT INTO `a` SELECT ...", offsets_from="cdc-filter-x"
    )
    body = json.loads(create.calls.last.request.content)
    assert body["spec"]["properties"]["sql.tables.initial-offset-from"] == "cdc-filter-x"
    assert body["spec"]["properties"]["sql.current-database"] == "lkc-1"
    assert (body["spec"]["compute_pool_id"], body["spec"]["principal"]) == ("lfcp-1", "sa-1")
    assert state.phase == "PENDING"
    assert create.calls.last.request.headers["authorization"].startswith("Basic ")


@respx.mock
def test_wait_running_polls_until_running_or_fails_clearly() -> None:
    respx.get(f"{BASE}/s1").mock(
        side_effect=[
            httpx.Response(200, json=statement("s1", "PENDING")),
            httpx.Response(200, json=statement("s1", "RUNNING")),
        ]
    )
    running = cloud().wait_running("s1")
    assert running.offsets == {"raw-business-events": "partition:0,offset:42"}
    respx.get(f"{BASE}/s2").mock(return_value=httpx.Response(200, json=statement("s2", "FAILED")))
    with pytest.raises(StatementError, match="statement s2 is FAILED: failed detail"):
        cloud().wait_running("s2")
    respx.get(f"{BASE}/s3").mock(
        return_value=httpx.Response(
            404, json={"errors": [{"status": "404", "detail": "not found"}]}
        )
    )
    assert cloud().status("s3").phase == ABSENT


@respx.mock
def test_stop_puts_the_statement_back_with_stopped_and_its_resource_version() -> None:
    respx.get(f"{BASE}/s1").mock(return_value=httpx.Response(200, json=statement("s1", "RUNNING")))
    put = respx.put(f"{BASE}/s1").mock(
        side_effect=[
            httpx.Response(409, json={"errors": [{"detail": "resource version mismatch"}]}),
            httpx.Response(200, json=statement("s1", "STOPPED", stopped=True)),
        ]
    )
    assert cloud().stop("s1").phase == "STOPPED"
    sent = json.loads(put.calls.last.request.content)
    assert sent["spec"]["stopped"] is True and sent["metadata"]["resource_version"] == "7"


GW = "http://gateway.test:8083"


@respx.mock
def test_sql_gateway_session_statement_operation_result() -> None:
    respx.post(f"{GW}/v1/sessions").mock(
        return_value=httpx.Response(200, json={"sessionHandle": "sess-1"})
    )
    submitted = respx.post(f"{GW}/v1/sessions/sess-1/statements").mock(
        side_effect=[httpx.Response(200, json={"operationHandle": f"op-{i}"}) for i in range(3)]
    )
    for i in range(3):
        respx.get(f"{GW}/v1/sessions/sess-1/operations/op-{i}/status").mock(
            side_effect=[
                httpx.Response(200, json={"status": "RUNNING"}),
                httpx.Response(200, json={"status": "FINISHED"}),
            ]
        )
        rows = [{"kind": "INSERT", "fields": ["3f1c0aa0job"]}] if i == 2 else []
        respx.get(f"{GW}/v1/sessions/sess-1/operations/op-{i}/result/0").mock(
            return_value=httpx.Response(
                200, json={"resultType": "PAYLOAD", "results": {"data": rows}}
            )
        )
    gateway = SqlGatewayStatements(GW, sleep=lambda _s: None)
    job = gateway.create(
        "cdc-filter-x", ["CREATE TABLE IF NOT EXISTS `a` (...)"], "INSERT INTO `a` SELECT 1"
    )
    assert job == "3f1c0aa0job"
    statements = [json.loads(c.request.content)["statement"] for c in submitted.calls]
    assert statements[1] == "SET 'pipeline.name' = 'cdc-filter-x'"


@respx.mock
def test_sql_gateway_error_is_reported() -> None:
    respx.post(f"{GW}/v1/sessions").mock(
        return_value=httpx.Response(200, json={"sessionHandle": "s"})
    )
    respx.post(f"{GW}/v1/sessions/s/statements").mock(
        return_value=httpx.Response(200, json={"operationHandle": "o"})
    )
    respx.get(f"{GW}/v1/sessions/s/operations/o/status").mock(
        return_value=httpx.Response(200, json={"status": "ERROR"})
    )
    respx.get(f"{GW}/v1/sessions/s/operations/o/result/0").mock(
        return_value=httpx.Response(
            500, json={"errors": ["Column 'colour' not found in any table"]}
        )
    )
    with pytest.raises(Exception, match="colour"):
        SqlGatewayStatements(GW, sleep=lambda _s: None).execute("INSERT ...")


def test_regex_literals_are_found_inside_nested_calls() -> None:
    from cdc_ops.tools.stack.flink_statements import regex_literals

    sql = (
        "WHERE (REGEXP(JSON_VALUE(`event_data`, '$.a'), '^Lo''an[0-9]+$') AND "
        "REGEXP(`x`, '[a-z]{2}(q)'))"
    )
    assert regex_literals(sql) == ["^Lo'an[0-9]+$", "[a-z]{2}(q)"]
    assert regex_literals("WHERE `a` = 'REGEXP('") == []
