"""What a statement's Flink job is doing: how long it has run, how many records it read and
wrote, whether it is backpressured, its last failure and its last checkpoint.

Read from the JobManager's REST API (the SQL Gateway's session cluster; a gateway knows nothing
of a job once it is submitted). Where each figure is, as seen on Flink 2.0 for the filters'
chained `Source -> Calc -> Sink: Writer -> Sink: Committer` vertex:

- `/jobs/{jid}`: the job's state, its clock (`now`) and when it last went RUNNING (uptime).
- `/jobs/{jid}/metrics?get=numRestarts`: restarts since the job was submitted.
- `/jobs/{jid}/vertices/{vid}/subtasks/metrics`, summed over subtasks: the Kafka source's own
  `numRecordsIn` (a chained vertex's `read-records` in `/jobs/{jid}` stays 0, its input being no
  network channel) and the sink writer's FLIP-33 `numRecordsSend` (the committer's counters
  count committables, not records). Rates are Flink's 60 s moving averages. A vertex without
  running tasks (RESTARTING) has no metrics at all.
- `/jobs/{jid}/vertices/{vid}/backpressure`: per-subtask ratio and level from the tasks'
  backPressuredTimeMsPerSecond; `{"status": "deprecated"}` while there is nothing to tell.
- `/jobs/{jid}/exceptions`: the failure history, newest first.
- `/jobs/{jid}/checkpoints`: the latest completed one, and the count of failed ones.

The parsing is pure (`runtime_from` of the answers); `JobManagerRuntime` makes the calls. A
figure Flink does not give is None with its reason in `unavailable`, never 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from cdc_ops.clients.rest import RestError, RetryingRest
from cdc_ops.flink.sql_gateway import flink_cause

if TYPE_CHECKING:
    from cdc_ops.flink.statements import StatementState

# the figures a runtime has, as named in `unavailable`
FIGURES = (
    "uptime_s",
    "records_in",
    "records_out",
    "records_in_per_s",
    "records_out_per_s",
    "backpressure",
    "restarts",
    "last_exception",
    "last_checkpoint",
    "failed_checkpoints",
)

# FLIP-33 marks: an operator with numRecordsInErrors is a source, one with numRecordsSend a sink
SOURCE_MARK = "numRecordsInErrors"
SINK_MARK = "numRecordsSend"
# figure -> (operator kind, metric)
_METRICS = {
    "records_in": ("source", "numRecordsIn"),
    "records_in_per_s": ("source", "numRecordsInPerSecond"),
    "records_out": ("sink", "numRecordsSend"),
    # records handed to the writer per second: the writer has no per-second send meter
    "records_out_per_s": ("sink", "numRecordsInPerSecond"),
}


@dataclass(frozen=True)
class Checkpoint:
    id: int
    at: datetime  # when it completed (its last acknowledgement)
    duration_ms: int
    size_bytes: int  # what this checkpoint persisted (checkpointed_size)


@dataclass(frozen=True)
class StatementRuntime:
    job_id: str = ""
    job_state: str = ""  # as the JobManager says: RUNNING, RESTARTING, FAILED, ...
    read_at: datetime | None = None  # the JobManager's clock when it answered
    uptime_s: float | None = None  # since the job last went RUNNING
    records_in: int | None = None  # read from the raw topic
    records_out: int | None = None  # written to the filtered topic
    records_in_per_s: float | None = None
    records_out_per_s: float | None = None
    backpressure_ratio: float | None = None  # of the busiest subtask, 0..1
    backpressure_level: str | None = None  # Flink's: ok, low, high
    restarts: int | None = None
    last_exception: str | None = None  # Flink's useful line of the newest failure; None: none
    last_exception_at: datetime | None = None
    last_checkpoint: Checkpoint | None = None
    failed_checkpoints: int | None = None
    # figure -> why it is not known
    unavailable: dict[str, str] = field(default_factory=dict)

    @classmethod
    def none(cls, why: str, job_id: str = "") -> StatementRuntime:
        """A runtime with no figure at all, for this reason."""
        return cls(job_id=job_id, unavailable=dict.fromkeys(FIGURES, why))

    @property
    def failed_since_checkpoint(self) -> bool:
        """Its newest failure is newer than its newest completed checkpoint (or none completed
        since): the job has not shown that it recovered."""
        if self.last_exception_at is None:
            return False
        cp = self.last_checkpoint
        return cp is None or cp.at < self.last_exception_at


class StatementRuntimeReader(Protocol):
    def read(self, state: StatementState) -> StatementRuntime: ...


class NoRuntime:
    """A statements backend whose jobs cdc-ops cannot look into (Confluent Cloud)."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def read(self, state: StatementState) -> StatementRuntime:
        return StatementRuntime.none(self._reason, state.job_id)


# -- the answers, parsed ----------------------------------------------------------------------

Answer = Any  # a decoded JSON body, or a str: why the call failed


@dataclass(frozen=True)
class JobAnswers:
    """What the JobManager answered about one job; a str where a call failed (its reason)."""

    job: Answer
    job_metrics: Answer = None
    vertex_metrics: dict[str, Answer] = field(default_factory=dict)  # vertex id -> sums
    backpressure: dict[str, Answer] = field(default_factory=dict)  # vertex id -> answer
    exceptions: Answer = None
    checkpoints: Answer = None


def _ms(value: Any) -> datetime | None:
    if not isinstance(value, int | float) or value <= 0:
        return None
    return datetime.fromtimestamp(value / 1000, UTC)


def operator_metrics(names: list[str]) -> dict[str, list[str]]:
    """Figure -> the metric names (subtask-aggregated, `operator.metric`) that add up to it, out
    of a vertex's metric names. Sources and sinks are found by their FLIP-33 metrics, not by
    name: operator names carry table names (dots too) and plan numbers."""
    known = {SOURCE_MARK, SINK_MARK, *(metric for _, metric in _METRICS.values())}
    operators: dict[str, set[str]] = {}
    for name in names:
        operator, sep, metric = name.rpartition(".")
        if sep and operator and metric in known:  # an operator's own, not its Kafka client's
            operators.setdefault(operator, set()).add(metric)
    kinds = {
        "source": [op for op, ms in operators.items() if SOURCE_MARK in ms],
        "sink": [op for op, ms in operators.items() if SINK_MARK in ms],
    }
    out: dict[str, list[str]] = {}
    for figure, (kind, metric) in _METRICS.items():
        found = [f"{op}.{metric}" for op in kinds[kind] if metric in operators[op]]
        if found:
            out[figure] = found
    return out


def wanted_metrics(names: list[str]) -> list[str]:
    """The metrics to ask a vertex for: the figures', and the marks that tell its sources."""
    figures = operator_metrics(names)
    sources = {n.rsplit(".", 1)[0] for n in figures.get("records_in", [])}
    return sorted(
        {n for ns in figures.values() for n in ns} | {f"{s}.{SOURCE_MARK}" for s in sources}
    )


def _sums(answer: Answer) -> dict[str, float]:
    if not isinstance(answer, list):
        return {}
    out = {}
    for m in answer:
        try:
            out[m["id"]] = float(m.get("sum", m.get("value")))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def _records(answers: JobAnswers, why_none: str) -> tuple[dict[str, float | int], dict[str, str]]:
    """The record figures summed over every vertex (a chained job has one)."""
    totals: dict[str, float] = {}
    seen: dict[str, bool] = {}
    errors = [a for a in answers.vertex_metrics.values() if isinstance(a, str)]
    for answer in answers.vertex_metrics.values():
        sums = _sums(answer)
        for figure, names in operator_metrics(list(sums)).items():
            seen[figure] = True
            totals[figure] = totals.get(figure, 0.0) + sum(sums[n] for n in names)
    values: dict[str, float | int] = {}
    unavailable: dict[str, str] = {}
    for figure, (kind, metric) in _METRICS.items():
        if figure in seen:
            total = totals[figure]
            values[figure] = round(total) if not figure.endswith("_per_s") else total
        else:
            unavailable[figure] = why_none or (
                errors[0] if errors else f"no {kind} operator publishes {metric}"
            )
    return values, unavailable


def _backpressure(answers: JobAnswers) -> tuple[float | None, str | None, str | None]:
    """(ratio, level, why not): the busiest subtask of any vertex."""
    best: tuple[float, str] | None = None
    why = None
    for answer in answers.backpressure.values():
        if isinstance(answer, str):
            why = answer
            continue
        if not isinstance(answer, dict) or answer.get("status") != "ok":
            status = answer.get("status") if isinstance(answer, dict) else answer
            why = f"the JobManager has no backpressure figures yet (status {status!r})"
            continue
        for sub in answer.get("subtasks") or []:
            ratio = sub.get("ratio")
            if isinstance(ratio, int | float) and (best is None or ratio > best[0]):
                level = sub.get("backpressureLevel") or sub.get("backpressure-level") or ""
                best = (float(ratio), level)
    if best is None:
        return None, None, why or "the JobManager reported no subtask"
    return best[0], best[1], None


def last_exception(answer: Answer) -> tuple[str | None, datetime | None]:
    """Flink's useful line of the newest failure in the job's exception history, and when."""
    if not isinstance(answer, dict):
        return None, None
    entries = (answer.get("exceptionHistory") or {}).get("entries") or []
    if not entries:
        return None, None
    newest = max(entries, key=lambda e: e.get("timestamp") or 0)
    trace = newest.get("stacktrace") or newest.get("exceptionName") or ""
    text = flink_cause(json.dumps({"errors": [trace]})) if trace else None
    return text, _ms(newest.get("timestamp"))


def last_checkpoint(answer: Answer) -> tuple[Checkpoint | None, int | None]:
    """The latest completed checkpoint, and how many failed since the job was submitted."""
    if not isinstance(answer, dict):
        return None, None
    failed = (answer.get("counts") or {}).get("failed")
    done = (answer.get("latest") or {}).get("completed")
    checkpoint = None
    if isinstance(done, dict) and _ms(done.get("latest_ack_timestamp")) is not None:
        checkpoint = Checkpoint(
            id=int(done["id"]),
            at=_ms(done["latest_ack_timestamp"]),  # type: ignore[arg-type]
            duration_ms=int(done.get("end_to_end_duration") or 0),
            size_bytes=int(done.get("checkpointed_size") or 0),
        )
    return checkpoint, failed if isinstance(failed, int) else None


def _restarts(answer: Answer) -> int | None:
    for m in answer if isinstance(answer, list) else []:
        if m.get("id") == "numRestarts":
            try:
                return int(float(m["value"]))
            except (KeyError, TypeError, ValueError):
                return None
    return None


def runtime_from(answers: JobAnswers) -> StatementRuntime:
    """The runtime of one job, from what the JobManager answered about it."""
    job = answers.job
    if not isinstance(job, dict):
        return StatementRuntime.none(f"the JobManager did not describe the job: {job}")
    state = str(job.get("state", ""))
    read_at = _ms(job.get("now"))
    unavailable: dict[str, str] = {}

    uptime = None
    running_since = _ms((job.get("timestamps") or {}).get("RUNNING"))
    if state == "RUNNING" and running_since is not None and read_at is not None:
        uptime = max((read_at - running_since).total_seconds(), 0.0)
    else:
        unavailable["uptime_s"] = f"the job is {state or 'in no known state'}, not RUNNING"

    if state != "RUNNING":
        why_no_tasks = f"the job is {state}: its tasks report nothing"
    elif all(a == [] for a in answers.vertex_metrics.values()):
        # the JobManager fetches its tasks' metrics every few seconds, not at each request
        why_no_tasks = "the JobManager has no metrics of the job's tasks yet"
    else:
        why_no_tasks = ""
    records, missing = _records(answers, why_no_tasks)
    unavailable |= missing

    ratio, level, why = _backpressure(answers)
    if why:
        unavailable["backpressure"] = why

    restarts = _restarts(answers.job_metrics)
    if restarts is None:
        unavailable["restarts"] = _why(answers.job_metrics, "numRestarts")

    exception, exception_at = last_exception(answers.exceptions)
    if not isinstance(answers.exceptions, dict):
        unavailable["last_exception"] = _why(answers.exceptions, "the exception history")

    checkpoint, failed = last_checkpoint(answers.checkpoints)
    if checkpoint is None:
        unavailable["last_checkpoint"] = (
            "no checkpoint completed since the job was submitted"
            if isinstance(answers.checkpoints, dict)
            else _why(answers.checkpoints, "the checkpoint statistics")
        )
    if failed is None:
        unavailable["failed_checkpoints"] = _why(answers.checkpoints, "the checkpoint counts")

    return StatementRuntime(
        job_id=str(job.get("jid", "")),
        job_state=state,
        read_at=read_at,
        uptime_s=uptime,
        records_in=records.get("records_in"),  # type: ignore[arg-type]
        records_out=records.get("records_out"),  # type: ignore[arg-type]
        records_in_per_s=records.get("records_in_per_s"),
        records_out_per_s=records.get("records_out_per_s"),
        backpressure_ratio=ratio,
        backpressure_level=level,
        restarts=restarts,
        last_exception=exception,
        last_exception_at=exception_at,
        last_checkpoint=checkpoint,
        failed_checkpoints=failed,
        unavailable=unavailable,
    )


def _why(answer: Answer, what: str) -> str:
    return answer if isinstance(answer, str) else f"the JobManager did not give {what}"


# -- the calls -------------------------------------------------------------------------------


class JobManagerRuntime:
    """The runtime of a statement's job, from the JobManager's REST API."""

    def __init__(self, jobmanager_url: str, http: httpx.Client | None = None, **retry: Any):
        self._url = jobmanager_url.rstrip("/")
        # a reading is taken every tick: two quick tries, not the deploy's patient five
        self._rest = RetryingRest(http or httpx.Client(timeout=10), **{"attempts": 2, **retry})

    def _get(self, path: str, **params: str) -> Answer:
        try:
            return self._rest.request("GET", f"{self._url}{path}", params=params or None).json()
        except (RestError, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}"[:300]

    def answers(self, job_id: str) -> JobAnswers:
        base = f"/jobs/{job_id}"
        job = self._get(base)
        if not isinstance(job, dict):
            return JobAnswers(job)
        vertices = [v["id"] for v in job.get("vertices") or [] if "id" in v]
        metrics: dict[str, Answer] = {}
        pressure: dict[str, Answer] = {}
        for vid in vertices:
            names = self._get(f"{base}/vertices/{vid}/subtasks/metrics")
            if isinstance(names, list):
                get = wanted_metrics([m["id"] for m in names if "id" in m])
                path = f"{base}/vertices/{vid}/subtasks/metrics"
                metrics[vid] = self._get(path, get=",".join(get), agg="sum") if get else []
            else:
                metrics[vid] = names
            pressure[vid] = self._get(f"{base}/vertices/{vid}/backpressure")
        return JobAnswers(
            job=job,
            job_metrics=self._get(f"{base}/metrics", get="numRestarts"),
            vertex_metrics=metrics,
            backpressure=pressure,
            exceptions=self._get(f"{base}/exceptions", maxExceptions="1"),
            checkpoints=self._get(f"{base}/checkpoints"),
        )

    def read(self, state: StatementState) -> StatementRuntime:
        if not state.job_id:
            return StatementRuntime.none(f"{state.name} has no Flink job ({state.phase})")
        return runtime_from(self.answers(state.job_id))
