"""The health verdicts the checks, the sensors and `cdc-ops status` share (pure, no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from cdc_ops.cluster.state import (
    TAG_CONNECTOR_ACTION,
    TAG_CONNECTOR_ACTION_AT,
    TAG_LAST_ACTION,
    TAG_LAST_ACTION_AT,
    TAG_LAST_ACTION_REASON,
    ClusterState,
)
from cdc_ops.connector.backends import ConnectorStatus, TaskStatus
from cdc_ops.connector.metrics import ConnectorMetrics
from cdc_ops.flink.runtime import Checkpoint, StatementRuntime
from cdc_ops.flink.statements import StatementState
from cdc_ops.health.reading import PipelineReading, health_rows, read_pipeline
from cdc_ops.health.verdicts import (
    cluster_down_alerts,
    cluster_health,
    connector_health,
    connector_lag_health,
    group_health,
    proxy_waits_on_purpose,
    slot_checks,
    slot_health,
    statement_health,
    stopped_on_purpose,
    topic_health,
)
from cdc_ops.kafka.groups import GroupLag, PartitionLag
from cdc_ops.kafka.topics import TopicState
from cdc_ops.settings import Settings, Thresholds
from cdc_ops.slot.reading import SlotState

T = Thresholds()


def cluster(status: str, action: str | None = None) -> ClusterState:
    tags = {}
    if action:
        tags = {
            TAG_LAST_ACTION: action,
            TAG_LAST_ACTION_AT: "2026-12-01T08:00:00+00:00",
            TAG_LAST_ACTION_REASON: "auto-stop: no API request in the last 3h",
        }
    return ClusterState("c1", status, endpoint="h:5432", tags=tags)


def test_a_cluster_stopped_by_cdc_ops_is_healthy_and_says_so() -> None:
    h = cluster_health(cluster("stopped", "stop"))
    assert h.healthy and h.state == "stopped by cdc-ops"
    assert h.says == (
        "cluster c1 is stopped: stopped on purpose by cdc-ops at 2026-12-01T08:00:00+00:00"
        " (auto-stop: no API request in the last 3h)"
    )
    assert cluster_down_alerts(cluster("stopped", "stop")) == []


def test_a_cluster_stopped_otherwise_fails_and_pages() -> None:
    for state in (cluster("stopped"), cluster("stopped", "start"), cluster("failed", "start")):
        h = cluster_health(state)
        assert not h.healthy and h.severe
        assert f"is {state.status}; expected available, and cdc-ops did not stop it" in h.says
        (alert,) = cluster_down_alerts(state, "docs/runbook.md")
        assert alert.summary == f"Aurora cluster c1 is {state.status} and cdc-ops did not stop it"
        assert alert.runbook == "docs/runbook.md#cluster-down"


def test_a_start_cdc_ops_began_warns_without_paging() -> None:
    h = cluster_health(cluster("starting", "start"))
    assert (h.healthy, h.severe) == (False, False)
    assert cluster_down_alerts(cluster("starting", "start")) == []
    assert cluster_health(cluster("available", "stop")).healthy  # AWS restarted it: still fine


def test_connector_needs_every_task_running() -> None:
    ok = ConnectorStatus("cdc", "RUNNING", [TaskStatus(0, "RUNNING")])
    assert connector_health(ok).healthy
    failed = ConnectorStatus("cdc", "RUNNING", [TaskStatus(0, "RUNNING"), TaskStatus(1, "FAILED")])
    h = connector_health(failed)
    assert not h.healthy
    assert h.says == "connector cdc is RUNNING (task 1 is FAILED); expected RUNNING with every task"
    assert connector_health(ConnectorStatus("cdc", "ABSENT")).says == (
        "connector cdc is not configured; expected RUNNING"
    )


def test_topics_statements_and_groups_say_what_was_expected() -> None:
    assert topic_health(TopicState("t", True, 3, {0: 1, 1: 2, 2: 3}), 3).healthy
    assert topic_health(TopicState("t", True, 1, {0: 1}), 3).says == (
        "topic t has 1 partitions; expected 3"
    )
    assert (
        topic_health(TopicState("t", False), 3).says == "topic t is missing; expected 3 partitions"
    )
    assert statement_health(StatementState("s", "ABSENT")).says == "s is ABSENT; expected RUNNING"
    lagging = GroupLag("n", "g", "t", [PartitionLag(0, 0, 2000, 2000)])
    h = group_health(lagging, 1000)
    assert (h.healthy, h.severe) == (False, False)
    assert h.says == "group g lags 2000 messages on t; expected at most 1000"


def test_slot_checks_from_one_read() -> None:
    present = SlotState("s", "present", "pgoutput", True, 1, "reserved", None, "0/1", "0/2", 10, 20)
    checks = slot_checks(present, T)
    assert all(h.healthy for h in checks.values())
    gib = 11 * 1024**3
    big = SlotState("s", "present", "pgoutput", False, None, "lost", None, "0/1", "0/2", gib, gib)
    checks = slot_checks(big, T)
    assert (checks["retained_wal"].healthy, checks["retained_wal"].severe) == (False, True)
    assert checks["wal_status"].says == "slot s has wal_status lost; expected reserved or extended"
    down = SlotState("s", "unreachable", error="connection refused")
    assert slot_health(down, T).says == (
        "slot s cannot be read: the database does not answer (connection refused)"
    )
    assert not any(h.healthy for h in slot_checks(down, T).values())


def test_an_unreadable_part_is_one_red_row_not_a_crash() -> None:
    reading = PipelineReading(datetime.now(UTC), cluster=cluster("available"))
    reading.errors["topic"] = "KafkaException: broker down"
    rows = health_rows(reading, Settings())
    assert [(r.part, r.healthy) for r in rows] == [("cluster", True), ("topic", False)]
    assert rows[1].says == "topic could not be read: KafkaException: broker down"


def test_parts_down_because_cdc_ops_stopped_the_cluster_warn_with_when_and_why() -> None:
    stopped = cluster("stopped", "stop")
    reading = PipelineReading(
        datetime.now(UTC),
        cluster=stopped,
        slot=SlotState("s", "unreachable", error="connection refused"),
        connector=ConnectorStatus("c", "PAUSED"),
        groups=[GroupLag("orders", "g", "t")],
    )
    rows = {r.part: r for r in health_rows(reading, Settings())}
    for part in ("slot", "connector"):
        row = rows[part]
        assert (row.healthy, row.severe, row.state) == (False, False, "stopped by cdc-ops")
        assert row.says.startswith(
            "cluster c1 stopped: stopped on purpose by cdc-ops at 2026-12-01T08:00:00+00:00,"
            " reason: auto-stop: no API request in the last 3h ("
        )
    assert rows["consumer group"].healthy  # a group with no lag is fine either way
    assert rows["cluster"].healthy


def test_the_same_parts_page_when_the_cluster_was_stopped_by_anyone_else() -> None:
    for by_hand in (cluster("stopped"), cluster("stopped", "start")):
        reading = PipelineReading(
            datetime.now(UTC),
            cluster=by_hand,
            slot=SlotState("s", "unreachable", error="connection refused"),
            connector=ConnectorStatus("c", "FAILED", [TaskStatus(0, "FAILED")]),
        )
        rows = {r.part: r for r in health_rows(reading, Settings())}
        assert stopped_on_purpose(by_hand) is None
        for part in ("cluster", "slot", "connector"):
            assert (rows[part].healthy, rows[part].severe) == (False, True), part


def test_a_connector_stopped_with_the_cluster_says_so_until_resumed() -> None:
    back = cluster("available", "start")
    back.tags.update(
        {TAG_CONNECTOR_ACTION: "stopped", TAG_CONNECTOR_ACTION_AT: "2026-12-01T07:59:58+00:00"}
    )
    reading = PipelineReading(
        datetime.now(UTC), cluster=back, connector=ConnectorStatus("c", "STOPPED")
    )
    row = {r.part: r for r in health_rows(reading, Settings())}["connector"]
    assert (row.healthy, row.severe) == (False, False)
    assert "connector stopped on purpose by cdc-ops at 2026-12-01T07:59:58+00:00" in row.says
    back.tags[TAG_CONNECTOR_ACTION] = "resumed"
    row = {r.part: r for r in health_rows(reading, Settings())}["connector"]
    assert (row.healthy, row.severe) == (False, True)


def test_lag_behind_source_against_its_limit() -> None:
    def lag(ms: int | None, **unavailable: str) -> tuple[str, bool, bool]:
        h = connector_lag_health(
            ConnectorMetrics("jolokia", ms_behind_source=ms, unavailable=unavailable), 1000
        )
        return h.state, h.healthy, h.severe

    assert lag(20) == ("ok", True, True)
    assert lag(-1) == ("no events", True, True)
    assert lag(5000) == ("lagging", False, False)
    assert lag(None, ms_behind_source="not published") == ("unavailable", False, False)


def test_clients_waiting_for_a_database_cdc_ops_stopped_page_nobody() -> None:
    at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # the recorded action's time
    assert "stopped on purpose by cdc-ops" in proxy_waits_on_purpose(cluster("stopped", "stop"), at)
    just_started = proxy_waits_on_purpose(cluster("available", "start"), at + timedelta(seconds=30))
    assert just_started is not None and "clients queued while it was stopped" in just_started
    assert proxy_waits_on_purpose(cluster("available", "start"), at + timedelta(seconds=61)) is None
    assert proxy_waits_on_purpose(cluster("stopped"), at) is None  # by hand: it pages
    assert proxy_waits_on_purpose(None, at) is None


# -- a statement's runtime in its verdict ------------------------------------------------------

AT = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
CAST_ERROR = "java.lang.NumberFormatException: For input string: 'CarCreated'."


def checkpoint_at(at: datetime) -> Checkpoint:
    return Checkpoint(id=7, at=at, duration_ms=11, size_bytes=1145)


def running(**runtime: object) -> StatementState:
    figures: dict = {
        "job_id": "j1",
        "job_state": "RUNNING",
        "read_at": AT,
        "records_in": 51,
        "records_out": 20,
        "restarts": 0,
        "backpressure_ratio": 0.0,
        "last_checkpoint": checkpoint_at(AT - timedelta(seconds=1)),
    }
    return StatementState(
        "s",
        "RUNNING",
        "job j1, 1/1 task(s) running",
        job_id="j1",
        runtime=StatementRuntime(**(figures | runtime)),
    )


def test_a_running_statement_without_failure_or_backpressure_is_healthy() -> None:
    h = statement_health(running())
    assert h.healthy and h.says == "s is RUNNING (job j1, 1/1 task(s) running)"
    assert h.figure == "51 in, 20 out"
    # no runtime read (another backend, an older caller): today's verdict
    assert statement_health(StatementState("s", "RUNNING", "job j1")).healthy


def test_a_job_that_failed_since_its_last_checkpoint_fails_with_flinks_exception() -> None:
    failed_at = AT - timedelta(seconds=5)
    for checkpoint in (checkpoint_at(failed_at - timedelta(seconds=60)), None):
        state = running(
            restarts=11,
            last_exception=CAST_ERROR,
            last_exception_at=failed_at,
            last_checkpoint=checkpoint,
        )
        h = statement_health(state, T)
        assert (h.healthy, h.severe, h.state) == (False, True, "failing")
        assert h.says == (
            "s is RUNNING but its job failed at 2026-12-01T19:59:55+00:00 (11 restart(s)) and has"
            f" completed no checkpoint since: {CAST_ERROR}; expected it to run without failing"
        )


def test_a_restarting_job_fails_with_flinks_exception_once() -> None:
    rt = StatementRuntime(job_id="j1", job_state="RESTARTING", last_exception=CAST_ERROR)
    # the SQL Gateway's detail already carries the cause: not said twice
    told = StatementState("s", "FAILING", f"job j1 restarting: {CAST_ERROR}", runtime=rt)
    h = statement_health(told, T)
    assert (h.healthy, h.severe) == (False, True)
    assert h.says == f"s is FAILING (job j1 restarting: {CAST_ERROR}); expected RUNNING"
    untold = StatementState("s", "FAILING", "job j1 restarting", runtime=rt)
    assert statement_health(untold, T).says == (
        f"s is FAILING (job j1 restarting; Flink: {CAST_ERROR}); expected RUNNING"
    )


def test_a_recovered_job_warns_for_an_hour_then_is_healthy() -> None:
    failed_at = AT - timedelta(minutes=10)
    state = running(restarts=1, last_exception=CAST_ERROR, last_exception_at=failed_at)
    h = statement_health(state, T)
    assert (h.healthy, h.severe, h.state) == (False, False, "recovered")
    assert h.says == (
        "s is RUNNING and recovered (1 restart(s), a checkpoint completed since) from a failure"
        f" at 2026-12-01T19:50:00+00:00: {CAST_ERROR}"
    )
    long_ago = running(
        restarts=1, last_exception=CAST_ERROR, last_exception_at=AT - timedelta(hours=2)
    )
    assert statement_health(long_ago, T).healthy


def test_backpressure_over_the_threshold_warns() -> None:
    state = running(backpressure_ratio=0.83, backpressure_level="high")
    h = statement_health(state, T)
    assert (h.healthy, h.severe, h.state) == (False, False, "backpressured")
    assert h.says == (
        "s is RUNNING but backpressured 83% of the time (high); expected at most 50%:"
        " its sink does not keep up"
    )
    assert statement_health(state, Thresholds(statement_backpressure_warn_ratio=0.9)).healthy
    assert statement_health(running(backpressure_ratio=0.5), T).healthy  # at, not over
    # unknown backpressure (no figures yet) is not a finding of its own
    assert statement_health(running(backpressure_ratio=None), T).healthy


def test_an_unreadable_runtime_leaves_the_statement_readable() -> None:
    class Backend:
        def status(self, name: str) -> StatementState:
            return StatementState(name, "RUNNING", "job j1", job_id="j1")

    class Broken:
        def read(self, state: StatementState) -> StatementRuntime:
            raise RuntimeError("JobManager on fire")

    adapters = SimpleNamespace(
        settings=Settings(),
        clock=lambda: AT,
        statement_backend=Backend(),
        statement_runtime=Broken(),
    )
    reading = read_pipeline(adapters, parts=["statement"], statements=["s"])  # type: ignore[arg-type]
    assert reading.errors == {}
    (state,) = reading.statements or []
    assert state.phase == "RUNNING" and state.runtime is not None
    why = "the job's runtime could not be read: RuntimeError: JobManager on fire"
    assert state.runtime.unavailable["records_out"] == why
    (row,) = health_rows(reading, Settings())
    assert row.healthy  # still RUNNING: the missing figures are shown, not judged

    adapters.statement_runtime = SimpleNamespace(
        read=lambda s: StatementRuntime(job_id=s.job_id, records_out=3)
    )
    (state,) = read_pipeline(adapters, parts=["statement"], statements=["s"]).statements or []  # type: ignore[arg-type]
    assert state.runtime is not None and state.runtime.records_out == 3
