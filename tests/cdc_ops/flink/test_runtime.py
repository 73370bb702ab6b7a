"""A statement's runtime, parsed from the JobManager's answers (recorded from the local stack's
Flink 2.0, trimmed: a filter job running, and one failing on a cast in its restart loop), and
read through a JobManager double that answers the same."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import httpx

from cdc_ops.flink.runtime import (
    FIGURES,
    JobAnswers,
    JobManagerRuntime,
    NoRuntime,
    operator_metrics,
    runtime_from,
    wanted_metrics,
)
from cdc_ops.flink.statements import StatementState

VID = "cbc357ccb763df2852fee8c4fc7d55f2"
RUNNING_JOB = {
    "jid": "cd6f939dce4cae75632772423e1156a1",
    "name": "cdc-filter-loan-created",
    "state": "RUNNING",
    "start-time": 1796156121561,
    "duration": 298492,
    "now": 1796156420053,
    "timestamps": {
        "CREATED": 1796156123520,
        "INITIALIZING": 1796156121561,
        "RUNNING": 1796156123985,
    },
    "vertices": [
        {
            "id": VID,
            "name": "Source: raw-business-events[4] -> Calc[5] -> filtered-loan-created-events[6]:"
            " Writer -> filtered-loan-created-events[6]: Committer",
            "parallelism": 1,
            "status": "RUNNING",
            # a chained source has no network input: these stay 0 whatever it reads
            "metrics": {"read-records": 0, "write-records": 0},
        }
    ],
}
# /jobs/{jid}/vertices/{vid}/subtasks/metrics, part of the 295 names
NAMES = [
    "checkpointStartDelayNanos",
    "numRecordsIn",
    "numRecordsOut",
    "backPressuredTimeMsPerSecond",
    "Source__raw-business-events[4].KafkaSourceReader.KafkaConsumer.records-consumed-total",
    "Source__raw-business-events[4].KafkaSourceReader.commitsSucceeded",
    "Source__raw-business-events[4].numRecordsIn",
    "Source__raw-business-events[4].numRecordsInErrors",
    "Source__raw-business-events[4].numRecordsInPerSecond",
    "Source__raw-business-events[4].numRecordsOut",
    "Calc[5].numRecordsIn",
    "Calc[5].numRecordsOut",
    "filtered-loan-created-events[6]__Writer.KafkaProducer.record-send-total",
    "filtered-loan-created-events[6]__Writer.numRecordsIn",
    "filtered-loan-created-events[6]__Writer.numRecordsInPerSecond",
    "filtered-loan-created-events[6]__Writer.numRecordsOutPerSecond",
    "filtered-loan-created-events[6]__Writer.numRecordsSend",
    "filtered-loan-created-events[6]__Writer.numRecordsSendErrors",
    "filtered-loan-created-events[6]__Committer.numRecordsIn",
    "filtered-loan-created-events[6]__Committer.numRecordsOut",
]
# ?get=...&agg=sum: 51 events read (30 of them cars), 20 loans written
SUMS = [
    {"id": "Source__raw-business-events[4].numRecordsIn", "sum": 51.0},
    {"id": "Source__raw-business-events[4].numRecordsInErrors", "sum": 0.0},
    {"id": "Source__raw-business-events[4].numRecordsInPerSecond", "sum": 0.8333333333333334},
    {"id": "filtered-loan-created-events[6]__Writer.numRecordsInPerSecond", "sum": 0.3333333333},
    {"id": "filtered-loan-created-events[6]__Writer.numRecordsSend", "sum": 20.0},
]
BACKPRESSURE_OK = {
    "status": "ok",
    "backpressureLevel": "ok",
    "end-timestamp": 1796156413093,
    "subtasks": [
        {
            "subtask": 0,
            "backpressureLevel": "ok",
            "ratio": 0.0,
            "idleRatio": 0.999,
            "busyRatio": 0.001,
            "backpressure-level": "ok",
        }
    ],
    "backpressure-level": "ok",
}
NO_EXCEPTIONS = {"exceptionHistory": {"entries": [], "truncated": False}}
CHECKPOINTS_OK = {
    "counts": {"restored": 0, "total": 148, "in_progress": 0, "completed": 146, "failed": 2},
    "latest": {
        "completed": {
            "className": "completed",
            "id": 146,
            "status": "COMPLETED",
            "trigger_timestamp": 1796156418339,
            "latest_ack_timestamp": 1796156418350,
            "checkpointed_size": 1145,
            "state_size": 1145,
            "end_to_end_duration": 11,
            "checkpoint_type": "CHECKPOINT",
        },
        "savepoint": None,
        "failed": None,
        "restored": None,
    },
}

RESTARTING_JOB = {
    "jid": "e0f342f2ada22294c503d54bb05c606a",
    "name": "cdc-filter-car-created",
    "state": "RESTARTING",
    "start-time": 1796156277447,
    "duration": 142632,
    "now": 1796156420079,
    "timestamps": {
        "CREATED": 1796156277550,
        "RESTARTING": 1796156399643,
        "INITIALIZING": 1796156277447,
        "RUNNING": 1796156399072,
    },
    "vertices": [{"id": VID, "name": "Source: raw-business-events[28] -> ...", "status": "FAILED"}],
}
CAST_FAILURE = {
    "exceptionHistory": {
        "entries": [
            {
                "exceptionName": "java.io.IOException",
                "stacktrace": "java.io.IOException: Failed to deserialize consumer record due to\n"
                "Caused by: org.apache.flink.streaming.runtime.tasks."
                "ExceptionInChainedOperatorException: Could not forward element to next operator\n"
                "\t... 14 more\n"
                "Caused by: java.lang.NumberFormatException: For input string: 'CarCreated'."
                " Invalid character found.\n"
                "\tat org.apache.flink.table.data.binary.BinaryStringDataUtil.toInt("
                "BinaryStringDataUtil.java:518)\n\t... 22 more\n",
                "timestamp": 1796156399643,
                "failureLabels": {},
                "taskName": "Source: raw-business-events[28] -> ... (1/1) - execution #10",
                "concurrentExceptions": [],
            }
        ],
        "truncated": True,
    }
}
CHECKPOINTS_BEFORE_FAILURE = {
    "counts": {"restored": 10, "total": 8, "in_progress": 0, "completed": 2, "failed": 6},
    "latest": {
        "completed": {
            "id": 2,
            "status": "COMPLETED",
            "trigger_timestamp": 1796156281439,
            "latest_ack_timestamp": 1796156281453,
            "checkpointed_size": 1145,
            "end_to_end_duration": 14,
        },
        "failed": {
            "id": 8,
            "status": "FAILED",
            "latest_ack_timestamp": -1,
            "failure_timestamp": 1796156399644,
            "failure_message": "Checkpoint Coordinator is suspending.",
        },
        "restored": {"id": 2, "restore_timestamp": 1796156399073, "is_savepoint": False},
    },
}
CAST_ERROR = (
    "java.lang.NumberFormatException: For input string: 'CarCreated'. Invalid character found."
)


def running() -> JobAnswers:
    return JobAnswers(
        job=RUNNING_JOB,
        job_metrics=[{"id": "numRestarts", "value": "0"}],
        vertex_metrics={VID: SUMS},
        backpressure={VID: BACKPRESSURE_OK},
        exceptions=NO_EXCEPTIONS,
        checkpoints=CHECKPOINTS_OK,
    )


def ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def test_the_sources_and_sinks_own_counters_are_picked_not_the_chained_vertex_or_committer() -> (
    None
):
    assert operator_metrics(NAMES) == {
        "records_in": ["Source__raw-business-events[4].numRecordsIn"],
        "records_in_per_s": ["Source__raw-business-events[4].numRecordsInPerSecond"],
        "records_out": ["filtered-loan-created-events[6]__Writer.numRecordsSend"],
        "records_out_per_s": ["filtered-loan-created-events[6]__Writer.numRecordsInPerSecond"],
    }
    # the source's FLIP-33 mark is asked for too, so the answer tells the source again
    assert "Source__raw-business-events[4].numRecordsInErrors" in wanted_metrics(NAMES)
    assert not [n for n in wanted_metrics(NAMES) if "Committer" in n or "Calc" in n]


def test_an_operator_named_after_a_dotted_topic_is_still_found() -> None:
    names = ["Source__raw.events[1].numRecordsIn", "Source__raw.events[1].numRecordsInErrors"]
    assert operator_metrics(names) == {"records_in": ["Source__raw.events[1].numRecordsIn"]}


def test_a_running_job_has_every_figure() -> None:
    rt = runtime_from(running())
    assert rt.unavailable == {}
    assert (rt.job_id, rt.job_state) == ("cd6f939dce4cae75632772423e1156a1", "RUNNING")
    assert rt.read_at == ms(1796156420053)
    assert rt.uptime_s == (1796156420053 - 1796156123985) / 1000
    assert (rt.records_in, rt.records_out) == (51, 20)
    assert isinstance(rt.records_in, int) and isinstance(rt.records_out, int)
    assert rt.records_in_per_s == 0.8333333333333334
    assert rt.records_out_per_s == 0.3333333333
    assert (rt.backpressure_ratio, rt.backpressure_level) == (0.0, "ok")
    assert (rt.restarts, rt.last_exception, rt.last_exception_at) == (0, None, None)
    cp = rt.last_checkpoint
    assert cp is not None
    assert (cp.id, cp.at, cp.duration_ms, cp.size_bytes) == (146, ms(1796156418350), 11, 1145)
    assert rt.failed_checkpoints == 2
    assert not rt.failed_since_checkpoint


def test_a_job_in_its_restart_loop_has_flinks_exception_and_no_task_figures() -> None:
    answers = JobAnswers(
        job=RESTARTING_JOB,
        job_metrics=[{"id": "numRestarts", "value": "11"}],
        vertex_metrics={VID: []},  # no running task: no metric
        backpressure={VID: {"status": "deprecated"}},
        exceptions=CAST_FAILURE,
        checkpoints=CHECKPOINTS_BEFORE_FAILURE,
    )
    rt = runtime_from(answers)
    assert rt.last_exception == CAST_ERROR
    assert rt.last_exception_at == ms(1796156399643)
    assert rt.restarts == 11
    assert rt.last_checkpoint is not None and rt.last_checkpoint.id == 2
    assert rt.failed_since_checkpoint  # the one checkpoint is older than the failure
    # not 0: unknown, and why
    for figure in ("uptime_s", "records_in", "records_out", "records_in_per_s", "backpressure"):
        assert figure in rt.unavailable
    assert (rt.uptime_s, rt.records_in, rt.records_out, rt.backpressure_ratio) == (None,) * 4
    assert rt.unavailable["records_out"] == "the job is RESTARTING: its tasks report nothing"
    assert rt.unavailable["backpressure"] == (
        "the JobManager has no backpressure figures yet (status 'deprecated')"
    )


def test_a_job_just_started_has_no_task_metrics_yet_and_no_checkpoint() -> None:
    answers = copy.deepcopy(running())
    answers = JobAnswers(
        job=answers.job,
        job_metrics=answers.job_metrics,
        vertex_metrics={VID: []},
        backpressure={VID: {"status": "deprecated"}},
        exceptions=NO_EXCEPTIONS,
        checkpoints={"counts": {"failed": 0}, "latest": {"completed": None}},
    )
    rt = runtime_from(answers)
    assert rt.records_in is None
    assert rt.unavailable["records_in"] == "the JobManager has no metrics of the job's tasks yet"
    assert (
        rt.unavailable["last_checkpoint"] == "no checkpoint completed since the job was submitted"
    )
    assert rt.failed_checkpoints == 0 and not rt.failed_since_checkpoint


def test_backpressure_is_the_busiest_subtask_of_any_vertex() -> None:
    pressured = copy.deepcopy(BACKPRESSURE_OK)
    pressured["subtasks"] = [
        {"subtask": 0, "backpressureLevel": "low", "ratio": 0.2},
        {"subtask": 1, "backpressureLevel": "high", "ratio": 0.83},
    ]
    answers = running()
    answers = JobAnswers(
        **{**answers.__dict__, "backpressure": {VID: BACKPRESSURE_OK, "v2": pressured}}
    )
    rt = runtime_from(answers)
    assert (rt.backpressure_ratio, rt.backpressure_level) == (0.83, "high")


def test_a_recovered_job_has_a_checkpoint_newer_than_its_failure() -> None:
    answers = JobAnswers(**{**running().__dict__, "exceptions": CAST_FAILURE})
    rt = runtime_from(answers)
    assert rt.last_exception == CAST_ERROR and not rt.failed_since_checkpoint


def test_calls_that_fail_leave_their_figures_unknown_with_the_reason() -> None:
    answers = JobAnswers(
        job=RUNNING_JOB,
        job_metrics="RestError: GET .../metrics: 500 boom",
        vertex_metrics={VID: "RestError: GET .../subtasks/metrics: 500 boom"},
        backpressure={VID: "RestError: GET .../backpressure: 500 boom"},
        exceptions="RestError: GET .../exceptions: 500 boom",
        checkpoints="RestError: GET .../checkpoints: 500 boom",
    )
    rt = runtime_from(answers)
    assert rt.uptime_s is not None  # the job itself was described
    assert set(rt.unavailable) == set(FIGURES) - {"uptime_s"}
    assert rt.unavailable["records_in"] == "RestError: GET .../subtasks/metrics: 500 boom"
    assert rt.unavailable["last_exception"] == "RestError: GET .../exceptions: 500 boom"
    assert runtime_from(JobAnswers("RestNotFound: 404")).unavailable["records_out"] == (
        "the JobManager did not describe the job: RestNotFound: 404"
    )


def test_no_runtime_has_every_figure_unavailable_with_its_reason() -> None:
    rt = NoRuntime("flink.backend=confluent_cloud publishes no job runtime").read(
        StatementState("s", "RUNNING")
    )
    assert set(rt.unavailable) == set(FIGURES)
    assert set(rt.unavailable.values()) == {
        "flink.backend=confluent_cloud publishes no job runtime"
    }
    assert rt.records_out is None and rt.last_checkpoint is None


class FakeJobManager:
    """Answers the recorded bodies at the JobManager's paths; counts the calls."""

    def __init__(self, down: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.calls: list[str] = []
        self.down = down

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, params = request.url.path, dict(request.url.params)
        self.calls.append(f"{path}?{request.url.query.decode()}" if params else path)
        base = "/jobs/cd6f939dce4cae75632772423e1156a1"
        if any(path.endswith(d) for d in self.down):
            return httpx.Response(500, json={"errors": ["Internal server error."]})
        bodies = {
            base: RUNNING_JOB,
            f"{base}/metrics": [{"id": "numRestarts", "value": "0"}],
            f"{base}/vertices/{VID}/backpressure": BACKPRESSURE_OK,
            f"{base}/exceptions": NO_EXCEPTIONS,
            f"{base}/checkpoints": CHECKPOINTS_OK,
        }
        if path == f"{base}/vertices/{VID}/subtasks/metrics":
            if "get" not in params:
                return httpx.Response(200, json=[{"id": n} for n in NAMES])
            asked = params["get"].split(",")
            assert params["agg"] == "sum"
            return httpx.Response(200, json=[m for m in SUMS if m["id"] in asked])
        if path in bodies:
            return httpx.Response(200, content=json.dumps(bodies[path]))
        return httpx.Response(404, json={"errors": ["Not found"]})


def reader(jm: FakeJobManager) -> JobManagerRuntime:
    http = httpx.Client(transport=httpx.MockTransport(jm))
    return JobManagerRuntime("http://jm:8081/", http, sleep=lambda s: None)


def test_the_reader_asks_the_jobmanager_for_each_figure() -> None:
    jm = FakeJobManager()
    state = StatementState("cdc-filter-loan-created", "RUNNING", job_id=RUNNING_JOB["jid"])
    rt = reader(jm).read(state)
    assert (rt.records_in, rt.records_out, rt.restarts, rt.unavailable) == (51, 20, 0, {})
    asked = [c for c in jm.calls if "get=" in c and "subtasks" in c]
    assert len(asked) == 1 and "Committer" not in asked[0]
    assert any(c.endswith("/exceptions?maxExceptions=1") for c in jm.calls)


def test_the_reader_degrades_per_figure_and_asks_nothing_without_a_job() -> None:
    jm = FakeJobManager(down={"/checkpoints"})
    state = StatementState("cdc-filter-loan-created", "RUNNING", job_id=RUNNING_JOB["jid"])
    rt = reader(jm).read(state)
    assert rt.records_out == 20 and rt.last_checkpoint is None
    assert "500" in rt.unavailable["last_checkpoint"]
    jm = FakeJobManager()
    rt = reader(jm).read(StatementState("cdc-filter-x", "ABSENT"))
    assert (
        jm.calls == [] and rt.unavailable["records_in"] == "cdc-filter-x has no Flink job (ABSENT)"
    )
