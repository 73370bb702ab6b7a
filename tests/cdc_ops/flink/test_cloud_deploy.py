"""Replacing a filter statement on Confluent Cloud: new version from the old one's offsets, the
old one stopped only once the new one runs; a refused version leaves the old one running."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from cdc_ops.filters.compiler import Target, compile_filters
from cdc_ops.filters.files import FILTERS_FILE
from cdc_ops.filters.model import load_filters
from cdc_ops.flink.cloud_deploy import CloudStatementBackend, base_name
from cdc_ops.flink.confluent_cloud import ConfluentCloudStatements
from cdc_ops.flink.deploy import redeploy
from cdc_ops.flink.statements import StatementError
from tests.cdc_ops.flink.test_statements import BASE, CC, statement

OLD = "cdc-filter-car-created-1795400000000"


def backend() -> CloudStatementBackend:
    client = ConfluentCloudStatements(
        CC, "org-1", "env-1", "lfcp-1", "sa-1", "env-1", "lkc-1", "K", "S", sleep=lambda _s: None
    )
    return CloudStatementBackend(client, start_timeout_s=5)


def listing(*items: dict) -> httpx.Response:
    return httpx.Response(200, json={"data": list(items), "metadata": {"next": ""}})


def test_versions_share_a_base_name() -> None:
    assert base_name(OLD) == "cdc-filter-car-created"
    assert base_name("cdc-filter-car-created") == "cdc-filter-car-created"


@respx.mock
def test_a_changed_statement_becomes_a_new_version_from_the_old_offsets() -> None:
    respx.get(BASE, params={"page_size": "100"}).mock(
        return_value=listing(
            statement(OLD, "RUNNING", statement="INSERT INTO old"),
            statement("cdc-filter-loan-created-1795400000000", "STOPPED"),
            statement("someone-elses", "RUNNING"),
        )
    )
    created = respx.post(BASE).mock(
        side_effect=lambda request: httpx.Response(
            200, json=statement(json.loads(request.content)["name"], "PENDING")
        )
    )
    respx.route(method="GET", url__regex=rf"{BASE}/cdc-filter-car-created-\d+$").mock(
        side_effect=lambda request: httpx.Response(
            200,
            json=statement(
                request.url.path.rsplit("/", 1)[1],
                "STOPPED" if OLD in str(request.url) else "RUNNING",
            ),
        )
    )
    stopped = respx.put(f"{BASE}/{OLD}").mock(return_value=httpx.Response(202))

    b = backend()
    assert b.names() == ["cdc-filter-car-created"]
    state = b.deploy("cdc-filter-car-created", ["CREATE TABLE ..."], "INSERT INTO new;")
    body = json.loads(created.calls.last.request.content)
    assert body["name"].startswith("cdc-filter-car-created-") and body["name"] != OLD
    assert body["spec"]["statement"] == "INSERT INTO new"  # no DDL: tables are the topics
    assert body["spec"]["properties"]["sql.tables.initial-offset-from"] == OLD
    assert state.phase == "RUNNING" and stopped.call_count == 1


@respx.mock
def test_a_refused_version_leaves_the_running_one_alone() -> None:
    respx.get(BASE, params={"page_size": "100"}).mock(
        return_value=listing(statement(OLD, "RUNNING", statement="INSERT INTO old"))
    )
    respx.post(BASE).mock(
        side_effect=lambda request: httpx.Response(
            200, json=statement(json.loads(request.content)["name"], "PENDING")
        )
    )
    respx.route(method="GET", url__regex=rf"{BASE}/cdc-filter-car-created-\d+$").mock(
        side_effect=lambda request: httpx.Response(
            200, json=statement(request.url.path.rsplit("/", 1)[1], "FAILED")
        )
    )
    deleted = respx.route(method="DELETE", url__regex=rf"{BASE}/cdc-filter-car-created-\d+$").mock(
        return_value=httpx.Response(202)
    )
    stopped = respx.put(f"{BASE}/{OLD}").mock(return_value=httpx.Response(202))
    with pytest.raises(StatementError, match="is FAILED"):
        backend().deploy("cdc-filter-car-created", [], "INSERT INTO broken")
    assert stopped.call_count == 0 and deleted.call_count == 1


@respx.mock
def test_the_redeploy_plan_runs_against_confluent_cloud() -> None:
    compiled = compile_filters(load_filters(FILTERS_FILE), Target.CONFLUENT)
    running = [
        statement(f"{s.name}-1795400000000", "RUNNING", statement=s.insert)
        for s in compiled.statements
    ]
    respx.get(BASE, params={"page_size": "100"}).mock(return_value=listing(*running))
    report = redeploy(compiled, backend(), topics=None, partitions=3, dry_run=False)
    assert {c.action for c in report.changes} == {"unchanged"} and report.ok


@respx.mock
def test_one_statement_failing_any_way_does_not_end_the_plan() -> None:
    """A failure that is not a StatementError (here an answer that is not JSON, as the stop's
    202 once gave) is the statement's failure; the rest of the plan still runs."""
    compiled = compile_filters(load_filters(FILTERS_FILE), Target.CONFLUENT)
    broken = compiled.statements[0].name
    respx.get(BASE, params={"page_size": "100"}).mock(return_value=listing())

    def create(request: httpx.Request) -> httpx.Response:
        name = json.loads(request.content)["name"]
        if name.startswith(f"{broken}-"):
            return httpx.Response(200, content=b"")  # no body where one is parsed
        return httpx.Response(200, json=statement(name, "PENDING"))

    respx.post(BASE).mock(side_effect=create)
    respx.route(method="GET", url__regex=rf"{BASE}/cdc-filter-[a-z-]+-\d+$").mock(
        side_effect=lambda request: httpx.Response(
            200, json=statement(request.url.path.rsplit("/", 1)[1], "RUNNING")
        )
    )
    report = redeploy(compiled, backend(), topics=None, partitions=3, dry_run=False)
    assert list(report.failed) == [broken]
    assert report.failed[broken].startswith("JSONDecodeError: ")
    others = {s.name for s in compiled.statements} - {broken}
    assert report.deployed == dict.fromkeys(others, "RUNNING")
