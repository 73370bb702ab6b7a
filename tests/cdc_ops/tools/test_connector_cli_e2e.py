"""`cdc-ops connector ...` as an operator runs it, against the real Kafka Connect worker: each
action idempotent and answering what the worker shows afterwards, refusals named before anything
is done, offsets read, and a re-snapshot that completes with every row sent again as a read."""

from __future__ import annotations

import json
import uuid

import pytest

from cdc_ops.tools.stack import Stack
from tests.helpers import run_cli
from tests.lambdas.test_producer_api_e2e import CountingAutoStarter, build_api, call, loan_event
from tests.test_cdc_e2e import raw_records

pytestmark = pytest.mark.e2e


def cli_json(*args: str, expect: int = 0) -> dict:
    done = run_cli("connector", *args, "-o", "json")
    assert done.returncode == expect, done.stderr + done.stdout
    return json.loads(done.stdout)


def test_pause_resume_restart_through_the_cli(local_stack: Stack) -> None:
    try:
        paused = cli_json("pause", "--reason", "cli: maintenance")
        assert (paused["performed"], paused["state_after"]) == (True, "PAUSED")
        assert paused["reason"] == "cli: maintenance"
        again = cli_json("pause")
        assert (again["performed"], again["outcome"]) == (False, "already PAUSED")
        refused = run_cli("connector", "restart")
        assert refused.returncode == 1
        assert "the connector is PAUSED: resume it instead" in refused.stderr
        resumed = cli_json("resume")
        assert (resumed["state_before"], resumed["state_after"]) == ("PAUSED", "RUNNING")
    finally:
        run_cli("connector", "resume")
    nothing = cli_json("restart", "--failed-only")
    assert nothing["outcome"] == "nothing failed: connector and tasks RUNNING"
    offsets = cli_json("offsets")["offsets"]
    assert offsets and "lsn" in offsets[0]["offset"]


def test_status_shows_debeziums_own_figures(local_stack: Stack) -> None:
    status = cli_json("status")
    metrics = status["metrics"]
    assert (status["state"], metrics["source"]) == ("RUNNING", "jolokia")
    assert metrics["connected"] is True
    assert isinstance(metrics["total_events_seen"], int)
    assert isinstance(metrics["ms_behind_source"], int)


def test_a_resnapshot_completes_and_sends_each_row_again_as_a_read(local_stack: Stack) -> None:
    settings = local_stack.settings
    api = build_api(settings, CountingAutoStarter())
    ids = {f"evt-snap-cli-{uuid.uuid4().hex[:8]}" for _ in range(3)}
    for uid in ids:
        assert call(api, "POST", "/api/v1/events", loan_event(uid))[0] == 201
    done = cli_json("snapshot", "--reason", "cli: consumer rebuild", "--timeout", "180")
    assert done["done"] is True, done
    assert done["tables"] == ["public.business_events"]
    assert done["outcome"].startswith("snapshot completed: ")
    found = raw_records(settings, ids, timeout_s=60, per_id=2)
    assert {i: [r["__op"] for r in found[i][:2]] for i in ids} == dict.fromkeys(ids, ["c", "r"])


def test_a_snapshot_of_a_table_not_captured_is_refused_naming_it(local_stack: Stack) -> None:
    refused = run_cli("connector", "snapshot", "--table", "public.cars")
    assert refused.returncode == 2
    assert "public.cars" in refused.stderr
