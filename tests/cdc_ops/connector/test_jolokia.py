"""Debezium's metrics through the worker's Jolokia agent: the mapping against answers the local
stack's worker gave (Jolokia 2.6.0, Debezium 3.6.1.Final, captured with `read_requests()`), and
the real agent for real."""

from __future__ import annotations

import copy
import json
import time
import uuid
from typing import Any

import httpx
import pytest

from cdc_ops.clients.postgres import connect
from cdc_ops.connector.jolokia import (
    DebeziumJolokiaMetrics,
    metrics_from_jolokia,
    parse_object_name,
    read_requests,
)
from cdc_ops.connector.metrics import ConnectorMetrics
from cdc_ops.tools.stack import Stack
from tests.test_cdc_e2e import raw_records

SERVER = "cdc-streaming"
STREAMING = f"debezium.postgres:type=connector-metrics,context=streaming,server={SERVER}"
SNAPSHOT = f"debezium.postgres:type=connector-metrics,context=snapshot,server={SERVER}"
NO_SUCH_FIGURE = {"records_sent": "Debezium's JMX metrics have no such figure"}

_STREAMING_REQUEST = {
    "mbean": "debezium.postgres:context=streaming,type=connector-metrics,*",
    "attribute": ["Connected", "MilliSecondsBehindSource", "TotalNumberOfEventsSeen", "LastEvent"],
    "type": "read",
}
_SNAPSHOT_REQUEST = {
    "mbean": "debezium.postgres:context=snapshot,type=connector-metrics,*",
    "attribute": [
        "SnapshotRunning",
        "SnapshotCompleted",
        "SnapshotSkipped",
        "SnapshotAborted",
        "RemainingTableCount",
        "RowsScanned",
        "ChunkId",
        "ChunkFrom",
        "ChunkTo",
        "TableFrom",
        "TableTo",
    ],
    "type": "read",
}

# three rows inserted into business_events after the initial snapshot of an empty table
STREAMING_ANSWER: list[dict[str, Any]] = [
    {
        "request": _STREAMING_REQUEST,
        "value": {
            STREAMING: {
                "LastEvent": 'position: {lsn: 26490888}, key: {"id" : "evt-jolokia-capture-2"}',
                "Connected": True,
                "MilliSecondsBehindSource": 163,
                "TotalNumberOfEventsSeen": 8,
            }
        },
        "status": 200,
        "timestamp": 1796145205,
    },
    {
        "request": _SNAPSHOT_REQUEST,
        "value": {
            SNAPSHOT: {
                "SnapshotSkipped": False,
                "TableTo": None,
                "SnapshotCompleted": True,
                "ChunkFrom": None,
                "RemainingTableCount": 1,
                "ChunkId": None,
                "ChunkTo": None,
                "SnapshotRunning": False,
                "RowsScanned": {"public.business_events": 0},
                "SnapshotAborted": False,
                "TableFrom": None,
            }
        },
        "status": 200,
        "timestamp": 1796145205,
    },
]

# the connector stopped (PUT /connectors/<name>/stop): Debezium unregistered both MBeans
STOPPED_ANSWER: list[dict[str, Any]] = [
    {
        "request": request,
        "error_type": "javax.management.InstanceNotFoundException",
        ".error": True,
        "error_type_jmx": "javax.management.InstanceNotFoundException",
        "error": f"No MBean with pattern debezium.postgres:type=connector-metrics,context={ctx},*"
        " found for READ request",
        "status": 404,
    }
    for ctx, request in (("streaming", _STREAMING_REQUEST), ("snapshot", _SNAPSHOT_REQUEST))
]

# resumed after the stop: a new task, counting from 0, that took no snapshot (offsets exist)
RESUMED_ANSWER: list[dict[str, Any]] = [
    {
        "request": _STREAMING_REQUEST,
        "value": {
            STREAMING: {
                "LastEvent": None,
                "Connected": True,
                "MilliSecondsBehindSource": -1,
                "TotalNumberOfEventsSeen": 0,
            }
        },
        "status": 200,
        "timestamp": 1796145222,
    },
    {
        "request": _SNAPSHOT_REQUEST,
        "value": {
            SNAPSHOT: {
                "SnapshotSkipped": True,
                "TableTo": None,
                "SnapshotCompleted": False,
                "ChunkFrom": None,
                "RemainingTableCount": 0,
                "ChunkId": None,
                "ChunkTo": None,
                "SnapshotRunning": False,
                "RowsScanned": {},
                "SnapshotAborted": False,
                "TableFrom": None,
            }
        },
        "status": 200,
        "timestamp": 1796145222,
    },
]

# `{"type": "read", "mbean": "debezium.postgres:type=connector-metrics,*"}`: every attribute of
# both MBeans (trimmed to the ones mapped and a few others)
WILDCARD_ANSWER: dict[str, Any] = {
    "request": {
        "mbean": "debezium.postgres:type=connector-metrics,*",
        "attribute": [],
        "type": "read",
    },
    "value": {
        SNAPSHOT: {
            "LastEvent": None,
            "ChunkFrom": None,
            "SnapshotRunning": False,
            "TotalTableCount": 1,
            "ChunkId": None,
            "SnapshotPaused": False,
            "RowsScanned": {"public.business_events": 0},
            "SnapshotAborted": False,
            "TableFrom": None,
            "TotalNumberOfEventsSeen": 0,
            "SnapshotSkipped": False,
            "TableTo": None,
            "RemainingTableCount": 0,
            "SnapshotCompleted": True,
            "CapturedTables": ["public.business_events"],
            "ChunkTo": None,
        },
        STREAMING: {
            "LastEvent": 'position: {lsn: 26471168}, key: {"id" : "evt-jolokia-poke-2"}',
            "Connected": True,
            "MilliSecondsBehindSourceP95": 29.892123890416237,
            "MilliSecondsSinceLastEvent": 5125,
            "LastTransactionId": "736",
            "MilliSecondsBehindSource": 31,
            "TotalNumberOfEventsSeen": 9,
            "NumberOfCommittedTransactions": 3,
            "SourceEventPosition": {"lsn": "26471168"},
            "CapturedTables": ["public.business_events"],
        },
    },
    "status": 200,
    "timestamp": 1796144902,
}


def test_a_streaming_connector_maps_to_every_figure() -> None:
    assert metrics_from_jolokia(STREAMING_ANSWER, SERVER) == ConnectorMetrics(
        "jolokia",
        connected=True,
        ms_behind_source=163,
        total_events_seen=8,
        last_event='position: {lsn: 26490888}, key: {"id" : "evt-jolokia-capture-2"}',
        snapshot_running=False,
        snapshot_completed=True,
        snapshot_aborted=False,
        snapshot_remaining_tables=1,
        snapshot_rows_scanned=0,
        snapshot_chunk="",
        unavailable=NO_SUCH_FIGURE,
    )


def test_without_a_server_name_any_server_counts() -> None:
    assert metrics_from_jolokia(STREAMING_ANSWER) == metrics_from_jolokia(STREAMING_ANSWER, SERVER)


def test_unregistered_mbeans_make_every_figure_unavailable_with_the_reason() -> None:
    metrics = metrics_from_jolokia(STOPPED_ANSWER, SERVER)
    assert metrics.source == "jolokia"
    assert (metrics.connected, metrics.total_events_seen, metrics.snapshot_completed) == (
        None,
        None,
        None,
    )
    assert metrics.last_event == "" and metrics.snapshot_chunk == ""
    assert metrics.unavailable["ms_behind_source"] == (
        "Debezium's streaming MBean is not registered: the connector's task is not running"
        " (stopped, failed, or not started yet)"
    )
    assert "snapshot MBean is not registered" in metrics.unavailable["snapshot_rows_scanned"]
    assert set(metrics.unavailable) == {
        "records_sent",
        "connected",
        "ms_behind_source",
        "total_events_seen",
        "last_event",
        "snapshot_running",
        "snapshot_completed",
        "snapshot_aborted",
        "snapshot_remaining_tables",
        "snapshot_rows_scanned",
        "snapshot_chunk",
    }


def test_one_context_missing_leaves_the_other_readable() -> None:
    answer = [STREAMING_ANSWER[0], STOPPED_ANSWER[1]]
    metrics = metrics_from_jolokia(answer, SERVER)
    assert metrics.total_events_seen == 8 and metrics.connected is True
    assert metrics.snapshot_running is None
    assert "connected" not in metrics.unavailable
    assert "snapshot MBean is not registered" in metrics.unavailable["snapshot_running"]


def test_a_skipped_snapshot_does_not_read_as_an_incomplete_one() -> None:
    metrics = metrics_from_jolokia(RESUMED_ANSWER, SERVER)
    assert metrics.snapshot_completed is None
    assert metrics.unavailable["snapshot_completed"].startswith("SnapshotSkipped: this run")
    assert (metrics.ms_behind_source, metrics.total_events_seen) == (-1, 0)
    assert metrics.snapshot_running is False and metrics.snapshot_rows_scanned == 0


def test_a_wildcard_read_of_every_attribute_maps_the_same() -> None:
    metrics = metrics_from_jolokia(WILDCARD_ANSWER, SERVER)
    assert (metrics.connected, metrics.ms_behind_source, metrics.total_events_seen) == (
        True,
        31,
        9,
    )
    assert (metrics.snapshot_completed, metrics.snapshot_remaining_tables) == (True, 0)
    assert metrics.unavailable == NO_SUCH_FIGURE


def test_another_connector_s_mbeans_are_not_ours() -> None:
    metrics = metrics_from_jolokia(STREAMING_ANSWER, "other-prefix")
    assert metrics.connected is None and metrics.snapshot_completed is None
    assert metrics.unavailable["connected"] == (
        "no streaming MBean for server=other-prefix; Jolokia has server=cdc-streaming"
    )


def _answer(streaming: dict[str, Any], snapshot: dict[str, Any], at: int) -> list[dict[str, Any]]:
    return [
        {
            "request": _STREAMING_REQUEST,
            "value": {STREAMING: streaming},
            "status": 200,
            "timestamp": at,
        },
        {
            "request": _SNAPSHOT_REQUEST,
            "value": {SNAPSHOT: snapshot},
            "status": 200,
            "timestamp": at,
        },
    ]


# an incremental snapshot of 30,000 rows asked for through the signal table: its first chunk,
# then the end (captured with the same requests)
CHUNK_ANSWER = _answer(
    {
        "LastEvent": 'key: {"id" : "evt-jolokia-bulk-10047"}',
        "Connected": True,
        "MilliSecondsBehindSource": 0,
        "TotalNumberOfEventsSeen": 30060,
    },
    {
        "SnapshotSkipped": False,
        "TableTo": "[evt-jolokia-bulk-9999]",
        "SnapshotCompleted": False,
        "ChunkFrom": "[evt-jolokia-bulk-1]",
        "RemainingTableCount": 2,
        "ChunkId": "5bc85a58-4ce7-41c6-ab25-5ae462fcd956",
        "ChunkTo": "[evt-jolokia-bulk-10919]",
        "SnapshotRunning": True,
        "RowsScanned": {"public.business_events": 1024},
        "SnapshotAborted": False,
        "TableFrom": "[evt-jolokia-bulk-1]",
    },
    1796145543,
)
CHUNKS_DONE_ANSWER = _answer(
    {
        "LastEvent": (
            'position: {lsn: 37379552}, key: {"id" : "7d485ad2-1c7a-4188-b4f7-317c16d4f7ff-close"}'
        ),
        "Connected": True,
        "MilliSecondsBehindSource": 9,
        "TotalNumberOfEventsSeen": 60065,
    },
    {
        "SnapshotSkipped": False,
        "TableTo": None,
        "SnapshotCompleted": True,
        "ChunkFrom": None,
        "RemainingTableCount": 1,
        "ChunkId": None,
        "ChunkTo": None,
        "SnapshotRunning": False,
        "RowsScanned": {"public.business_events": 30000},
        "SnapshotAborted": False,
        "TableFrom": None,
    },
    1796145546,
)


def test_an_incremental_snapshot_s_chunk_and_rows() -> None:
    metrics = metrics_from_jolokia(CHUNK_ANSWER, SERVER)
    assert metrics.snapshot_running is True and metrics.snapshot_completed is False
    assert (metrics.snapshot_rows_scanned, metrics.snapshot_remaining_tables) == (1024, 2)
    assert metrics.snapshot_chunk == (
        "5bc85a58-4ce7-41c6-ab25-5ae462fcd956: keys [evt-jolokia-bulk-1]"
        " to [evt-jolokia-bulk-10919] (the table's up to [evt-jolokia-bulk-9999])"
    )
    assert metrics.unavailable == NO_SUCH_FIGURE

    done = metrics_from_jolokia(CHUNKS_DONE_ANSWER, SERVER)
    assert (done.snapshot_running, done.snapshot_completed, done.snapshot_chunk) == (
        False,
        True,
        "",
    )
    assert done.snapshot_rows_scanned == 30000 and done.total_events_seen == 60065


def test_rows_scanned_add_up_over_tables() -> None:
    answer = copy.deepcopy(CHUNK_ANSWER)
    answer[1]["value"][SNAPSHOT]["RowsScanned"] = {"public.business_events": 1024, "public.x": 10}
    assert metrics_from_jolokia(answer, SERVER).snapshot_rows_scanned == 1034


def test_an_attribute_jolokia_could_not_read_is_unavailable_alone() -> None:
    # with ignoreErrors a failing getter comes back as an error object (shape as the real agent
    # answers for a missing attribute), the others as values
    answer = copy.deepcopy(STREAMING_ANSWER)
    answer[0]["value"][STREAMING]["MilliSecondsBehindSource"] = {
        "error_type": "javax.management.AttributeNotFoundException",
        ".error": True,
        "error_type_jmx": "javax.management.AttributeNotFoundException",
        "error": "No such attribute: MilliSecondsBehindSource",
    }
    answer[0]["value"][STREAMING]["TotalNumberOfEventsSeen"] = "many"
    metrics = metrics_from_jolokia(answer, SERVER)
    assert metrics.connected is True
    assert metrics.ms_behind_source is None and metrics.total_events_seen is None
    assert metrics.unavailable["ms_behind_source"] == (
        "MilliSecondsBehindSource: No such attribute: MilliSecondsBehindSource"
    )
    assert metrics.unavailable["total_events_seen"].startswith("TotalNumberOfEventsSeen: ")


def test_an_attribute_an_older_debezium_lacks_is_said_so() -> None:
    answer = copy.deepcopy(STREAMING_ANSWER)
    del answer[1]["value"][SNAPSHOT]["ChunkId"]
    del answer[1]["value"][SNAPSHOT]["SnapshotSkipped"]  # optional: no remark
    metrics = metrics_from_jolokia(answer, SERVER)
    assert metrics.unavailable == NO_SUCH_FIGURE | {
        "snapshot_chunk": "ChunkId: not published by this Debezium"
    }
    assert metrics.snapshot_completed is True


def test_what_is_no_jolokia_answer_is_said_so() -> None:
    assert "not a Jolokia answer" in metrics_from_jolokia({"hello": 1}).unavailable["all"]
    whole = metrics_from_jolokia({"status": 403, "error": "Access denied", "request": {}})
    assert whole.unavailable["connected"] == "Jolokia answered 403: Access denied"
    assert whole.unavailable["snapshot_running"] == "Jolokia answered 403: Access denied"


def test_object_names_with_quoted_values() -> None:
    assert parse_object_name(STREAMING) == (
        "debezium.postgres",
        {"type": "connector-metrics", "context": "streaming", "server": SERVER},
    )
    # Kafka's Sanitizer.jmxSanitize quotes a topic.prefix with characters outside [-\w%. \t]
    quoted = 'debezium.postgres:type=connector-metrics,context=snapshot,server="a,b=\\"c\\"",task=0'
    assert parse_object_name(quoted)[1] == {
        "type": "connector-metrics",
        "context": "snapshot",
        "server": 'a,b="c"',
        "task": "0",
    }
    assert parse_object_name(_STREAMING_REQUEST["mbean"])[1] == {
        "context": "streaming",
        "type": "connector-metrics",
    }


def _reader(handler: Any) -> DebeziumJolokiaMetrics:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return DebeziumJolokiaMetrics("http://worker.test:8778/jolokia/", SERVER, http=http)


def test_the_reader_posts_one_bulk_and_maps_the_answer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=STREAMING_ANSWER)

    assert _reader(handler).read() == metrics_from_jolokia(STREAMING_ANSWER, SERVER)
    (request,) = seen
    assert (request.method, str(request.url)) == ("POST", "http://worker.test:8778/jolokia")
    assert json.loads(request.content) == read_requests()
    assert [r["mbean"] for r in read_requests()] == [
        "debezium.postgres:type=connector-metrics,context=streaming,*",
        "debezium.postgres:type=connector-metrics,context=snapshot,*",
    ]


def test_the_reader_never_raises() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    metrics = _reader(refused).read()
    assert metrics == ConnectorMetrics(
        "jolokia",
        unavailable={
            "all": "the Jolokia agent at http://worker.test:8778/jolokia did not answer:"
            " ConnectError: [Errno 111] Connection refused"
        },
    )
    # what the real agent answers to a body it cannot parse
    bad = _reader(lambda _r: httpx.Response(400, text="400 (Bad Request)\n\nInvalid JSON request"))
    assert "HTTP 400: 400 (Bad Request)" in bad.read().unavailable["all"]
    not_json = _reader(lambda _r: httpx.Response(200, text="<html>a proxy</html>"))
    assert "not JSON" in not_json.read().unavailable["all"]


@pytest.mark.e2e
def test_the_worker_s_agent_tells_the_connector_s_metrics(local_stack: Stack) -> None:
    settings = local_stack.settings
    reader = DebeziumJolokiaMetrics(settings.connector.jolokia_url or "", settings.names.project)
    before = reader.read()
    assert before.connected is True, before.unavailable
    assert before.total_events_seen is not None

    ids = {f"evt-jolokia-{uuid.uuid4().hex[:8]}" for _ in range(3)}
    with connect(settings) as conn:
        for uid in sorted(ids):
            conn.execute(
                "INSERT INTO business_events (id, event_name, event_type, event_data)"
                " VALUES (%s, 'LoanCreated', 'LoanCreated', '{}')",
                (uid,),
            )
    assert set(raw_records(settings, ids, timeout_s=30)) == ids

    deadline = time.monotonic() + 30
    after = reader.read()
    while (after.total_events_seen or 0) < before.total_events_seen + len(ids):
        assert time.monotonic() < deadline, after
        time.sleep(0.5)
        after = reader.read()
    assert after.connected is True
    assert after.ms_behind_source is not None and after.ms_behind_source >= 0
    assert after.last_event.startswith("position: {lsn: ")
    assert after.snapshot_running is False and after.snapshot_aborted is False
    # True after the initial snapshot; a task restarted by an earlier test took none
    assert after.snapshot_completed is True or (
        after.snapshot_completed is None
        and after.unavailable["snapshot_completed"].startswith("SnapshotSkipped")
    )
    assert set(after.unavailable) <= {"records_sent", "snapshot_completed"}
