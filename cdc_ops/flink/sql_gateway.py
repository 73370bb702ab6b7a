"""Flink statements on a session cluster through the open-source Flink SQL Gateway: the backend
for the local stack and for self-managed Flink on AWS.

SQL goes through the gateway's REST API (a session per deploy: open, submit, poll the operation,
fetch its result); the jobs are followed and stopped through the JobManager's REST API, because a
gateway operation is FINISHED as soon as its job is submitted and knows nothing after that.

A statement is a job named after it (`pipeline.name`). Its SQL travels with the job as global job
parameters, so what runs can be compared with what should run by asking the cluster alone (the
gateway keeps nothing across restarts), and only jobs carrying that mark are ever stopped.

Replacing a statement starts the new job first and cancels the old one only once every task of
the new one runs. Both read the raw topic with the statement's consumer group, whose offsets the
job commits at each checkpoint: the new job starts at the old one's last committed position, so
an event is never lost; the ones the old job read after that are written twice (at least once).
A statement Flink rejects, or one that does not reach RUNNING, leaves the old job running.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from cdc_ops.clients.rest import RestError, RetryingRest
from cdc_ops.flink.statements import ABSENT, RUNNING, StatementError, StatementState

# global job parameters on every job cdc-ops submits
STATEMENT_PARAM = "cdc-ops.statement"
SQL_PARAM = "cdc-ops.sql"
# job states after which a job does nothing any more
TERMINAL = {"FINISHED", "CANCELED", "FAILED", "SUSPENDED"}
ERROR_STATES = {"ERROR", "CANCELED", "CLOSED", "TIMEOUT"}


def encode_sql(ddl: list[str], insert: str) -> str:
    """The statement's SQL as one parameter value: no ':' or ',' (the map's separators)."""
    raw = json.dumps({"ddl": ddl, "insert": insert}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_sql(value: str) -> dict[str, Any]:
    try:
        padded = value + "=" * (-len(value) % 4)
        return json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError):
        return {}


def flink_cause(body: str) -> str:
    """The useful line of a gateway error: the innermost `Caused by:` of Flink's stack trace."""
    try:
        errors = json.loads(body).get("errors", [])
        text = "\n".join(str(e) for e in errors)
    except (ValueError, AttributeError):
        text = body
    causes = [
        line.split("Caused by:", 1)[1].strip() for line in text.splitlines() if "Caused by:" in line
    ]
    if causes:
        return causes[-1][:1000]
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("at ")
    ]
    return " | ".join(lines)[:1000] or body[:1000]


def phase_of(job: dict[str, Any]) -> tuple[str, str]:
    """A JobManager job (from /jobs/overview) as a statement phase and a detail line. A job is
    RUNNING only when every task runs: a job without a free slot says RUNNING at job level."""
    state = job.get("state", "UNKNOWN")
    tasks = job.get("tasks") or {}
    total, running = int(tasks.get("total", 0)), int(tasks.get("running", 0))
    detail = f"job {job.get('jid', '?')}"
    if state == "RUNNING":
        if total and running == total:
            return RUNNING, f"{detail}, {running}/{total} task(s) running"
        return "PENDING", f"{detail}, {running}/{total} task(s) running (waiting for task slots?)"
    if state in ("CREATED", "INITIALIZING", "RECONCILING"):
        return "PENDING", f"{detail} {state.lower()}"
    if state in ("FAILING", "RESTARTING", "FAILED"):
        return "FAILED" if state == "FAILED" else "FAILING", f"{detail} {state.lower()}"
    if state in ("CANCELLING", "CANCELED", "FINISHED", "SUSPENDED"):
        return "STOPPED", f"{detail} {state.lower()}"
    return state, detail


class SqlGatewayStatements:
    kind = "sql_gateway"

    def __init__(
        self,
        gateway_url: str,
        jobmanager_url: str,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        start_timeout_s: float = 120,
        **retry: Any,
    ) -> None:
        self._gateway = gateway_url.rstrip("/")
        self._jobmanager = jobmanager_url.rstrip("/")
        self._http = http or httpx.Client(timeout=30)
        self._rest = RetryingRest(self._http, sleep=sleep, **retry)
        self._sleep = sleep
        self._timeout = start_timeout_s
        self._params: dict[str, dict[str, str]] = {}  # job id -> its global job parameters

    # -- the gateway: sessions and operations -------------------------------------------------

    def open_session(self) -> str:
        answer = self._rest.request(
            "POST", f"{self._gateway}/v1/sessions", json={"sessionName": "cdc-ops"}
        ).json()
        return answer["sessionHandle"]

    def close_session(self, session: str) -> None:
        # one that is not closed expires on its own (sql-gateway.session.idle-timeout)
        with contextlib.suppress(httpx.HTTPError):
            self._http.delete(f"{self._gateway}/v1/sessions/{session}")

    def execute(self, session: str, sql: str, timeout_s: float = 120) -> dict[str, Any]:
        """Run one statement; wait for its operation; return its first result page."""
        base = f"{self._gateway}/v3/sessions/{session}"
        op = self._rest.request("POST", f"{base}/statements", json={"statement": sql}).json()[
            "operationHandle"
        ]
        deadline = time.monotonic() + timeout_s
        delay = 0.05
        while True:
            status = self._rest.request("GET", f"{base}/operations/{op}/status").json()["status"]
            if status == "FINISHED":
                break
            if status in ERROR_STATES:
                # the cause is in the result fetch's 500; fetched once, not retried
                result = self._http.get(f"{base}/operations/{op}/result/0?rowFormat=JSON")
                raise StatementError(flink_cause(result.text))
            if time.monotonic() > deadline:
                raise StatementError(
                    f"SQL Gateway operation {op} still {status} after {timeout_s}s"
                )
            self._sleep(delay)
            delay = min(delay * 2, 0.5)
        while True:
            page = self._rest.request(
                "GET", f"{base}/operations/{op}/result/0?rowFormat=JSON"
            ).json()
            if page.get("resultType") != "NOT_READY":
                return page
            if time.monotonic() > deadline:
                raise StatementError(f"SQL Gateway operation {op}: no result after {timeout_s}s")
            self._sleep(0.1)

    @staticmethod
    def rows(page: dict[str, Any]) -> list[list[Any]]:
        return [row.get("fields", []) for row in (page.get("results") or {}).get("data", [])]

    # -- the JobManager: jobs ------------------------------------------------------------------

    def _jobs(self) -> list[dict[str, Any]]:
        return self._rest.request("GET", f"{self._jobmanager}/jobs/overview").json().get("jobs", [])

    def _job_params(self, jid: str) -> dict[str, str]:
        if jid not in self._params:
            body = self._rest.request("GET", f"{self._jobmanager}/jobs/{jid}/config").json()
            self._params[jid] = (body.get("execution-config") or {}).get("user-config") or {}
        return self._params[jid]

    def _ours(self, name: str | None = None) -> list[dict[str, Any]]:
        """Jobs cdc-ops submitted (named `name`), newest first."""
        jobs = [j for j in self._jobs() if name is None or j.get("name") == name]
        ours = [j for j in jobs if STATEMENT_PARAM in self._job_params(j["jid"])]
        return sorted(ours, key=lambda j: j.get("start-time", 0), reverse=True)

    def _exception(self, jid: str) -> str:
        try:
            body = self._rest.request("GET", f"{self._jobmanager}/jobs/{jid}/exceptions").json()
        except RestError:
            return ""
        entries = (body.get("exceptionHistory") or {}).get("entries") or []
        text = entries[0].get("stacktrace", "") if entries else body.get("root-exception", "")
        return flink_cause(json.dumps({"errors": [text]})) if text else ""

    def _cancel(self, jid: str) -> None:
        self._rest.request("PATCH", f"{self._jobmanager}/jobs/{jid}?mode=cancel")

    def _wait_terminal(self, jids: list[str]) -> None:
        deadline = time.monotonic() + self._timeout
        while jids:
            states = {j["jid"]: j["state"] for j in self._jobs()}
            jids = [j for j in jids if states.get(j, "CANCELED") not in TERMINAL]
            if not jids:
                return
            if time.monotonic() > deadline:
                raise StatementError(f"jobs {', '.join(jids)} did not stop in {self._timeout}s")
            self._sleep(0.2)

    # -- the statement backend ----------------------------------------------------------------

    def names(self) -> list[str]:
        return sorted({j["name"] for j in self._ours() if j["state"] not in TERMINAL})

    def status(self, name: str) -> StatementState:
        jobs = self._ours(name)
        live = [j for j in jobs if j["state"] not in TERMINAL]
        job = live[0] if live else (jobs[0] if jobs else None)
        if job is None:
            return StatementState(name, ABSENT)
        sql = decode_sql(self._job_params(job["jid"]).get(SQL_PARAM, "")).get("insert", "")
        phase, detail = phase_of(job)
        if phase == "STOPPED" and not live:
            return StatementState(name, ABSENT, detail, sql)
        if phase in ("FAILED", "FAILING"):
            cause = self._exception(job["jid"])
            detail = f"{detail}: {cause}" if cause else detail
        return StatementState(name, phase, detail, sql, job_id=job["jid"])

    def _planned(self, session: str, ddl: list[str], insert: str) -> str | None:
        """The tables created in the session, then Flink's planner on the INSERT: None, or
        Flink's error."""
        try:
            for statement in ddl:
                self.execute(session, _strip(statement))
            self.execute(session, f"EXPLAIN {_strip(insert)}")
            # the planner accepts a regular expression Java cannot compile (REGEXP then matches
            # nothing, silently); REGEXP_REPLACE of a constant is folded by the planner with
            # java.util.regex and is NULL exactly when the expression does not compile
            for regex in regex_literals(insert):
                probe = f"EXPLAIN SELECT REGEXP_REPLACE('', '{_quote(regex)}', '') IS NULL"
                plan = self.rows(self.execute(session, probe))[0][0]
                if "true AS" in plan.split("== Optimized Execution Plan ==")[-1]:
                    return (
                        f"invalid regular expression {regex!r}: java.util.regex cannot compile it"
                    )
            return None
        except StatementError as exc:
            return str(exc)

    def validate(self, name: str, ddl: list[str], insert: str) -> str | None:
        """Flink's planner on the statement, in a session of its own: None, or Flink's error."""
        session = self.open_session()
        try:
            return self._planned(session, ddl, insert)
        finally:
            self.close_session(session)

    def deploy(self, name: str, ddl: list[str], insert: str) -> StatementState:
        """Start the statement's new job; cancel the old one once every task of the new runs.
        Validated and submitted in one session: its tables are created once."""
        old = [j["jid"] for j in self._ours(name) if j["state"] not in TERMINAL]
        session = self.open_session()
        try:
            error = self._planned(session, ddl, insert)
            if error:
                raise StatementError(f"{name}: Flink rejected the statement: {error}")
            try:
                self.execute(session, f"SET 'pipeline.name' = '{_quote(name)}'")
                params = f"{STATEMENT_PARAM}:{name},{SQL_PARAM}:{encode_sql(ddl, insert)}"
                self.execute(session, f"SET 'pipeline.global-job-parameters' = '{_quote(params)}'")
                page = self.execute(session, _strip(insert))
            except StatementError as exc:
                raise StatementError(f"{name}: the gateway refused the statement: {exc}") from exc
        finally:
            self.close_session(session)
        jid = page.get("jobID") or next(iter(self.rows(page)), [""])[0]
        if not jid:
            raise StatementError(f"{name}: the gateway submitted no job ({page})")
        try:
            self._wait_running(name, jid)
        except StatementError:
            self._cancel(jid)
            raise
        for previous in old:
            self._cancel(previous)
        self._wait_terminal(old)
        return self.status(name)

    def _wait_running(self, name: str, jid: str) -> None:
        deadline = time.monotonic() + self._timeout
        while True:
            job = next((j for j in self._jobs() if j["jid"] == jid), None)
            phase, detail = phase_of(job) if job else ("PENDING", f"job {jid} not listed yet")
            if phase == RUNNING:
                return
            if phase in ("FAILED", "FAILING", "STOPPED"):
                cause = self._exception(jid)
                raise StatementError(
                    f"{name}: the new job did not reach RUNNING ({detail}): {cause};"
                    " the previous one keeps running"
                )
            if time.monotonic() > deadline:
                raise StatementError(
                    f"{name}: the new job did not reach RUNNING in {self._timeout:.0f}s"
                    f" ({detail}); the previous one keeps running"
                )
            self._sleep(0.2)

    def stop(self, name: str) -> None:
        live = [j["jid"] for j in self._ours(name) if j["state"] not in TERMINAL]
        for jid in live:
            self._cancel(jid)
        self._wait_terminal(live)


def regex_literals(sql: str) -> list[str]:
    """The regular expression of every REGEXP(value, 'regex') call in a statement, unescaped:
    the last string literal directly inside the call's parentheses. Text inside literals is
    never taken for a call."""
    found: list[str] = []
    calls: list[list] = []  # per open REGEXP call: [depth at which it opened, last literal]
    depth, k = 0, 0
    while k < len(sql):
        ch = sql[k]
        if ch == "'":
            end = k + 1
            while end < len(sql):
                if sql[end] == "'":
                    if sql[end + 1 : end + 2] == "'":
                        end += 2
                        continue
                    break
                end += 1
            if calls and calls[-1][0] == depth:
                calls[-1][1] = sql[k + 1 : end].replace("''", "'")
            k = end + 1
            continue
        if sql.startswith("REGEXP(", k):
            depth += 1
            calls.append([depth, None])
            k += len("REGEXP(")
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            if calls and calls[-1][0] == depth:
                literal = calls.pop()[1]
                if literal is not None:
                    found.append(literal)
            depth -= 1
        k += 1
    return found


def _strip(sql: str) -> str:
    return sql.strip().rstrip(";").strip()


def _quote(value: str) -> str:
    return value.replace("'", "''")
