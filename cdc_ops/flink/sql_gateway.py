"""Flink statements on a session cluster through the open-source Flink SQL Gateway: the backend
for the local stack and for self-managed Flink on AWS.

SQL goes through the gateway's REST API (a session per deploy: open, submit, poll the operation,
fetch its result); the jobs are followed and stopped through the JobManager's REST API, because a
gateway operation is FINISHED as soon as its job is submitted and knows nothing after that.

A statement is a job named after it (`pipeline.name`). Its SQL travels with the job as global job
parameters, so what runs can be compared with what should run by asking the cluster alone (the
gateway keeps nothing across restarts), and only jobs carrying that mark are ever stopped.

Replacing a running statement goes through a savepoint, so no event is lost or written twice:
Flink's planner checks the new statement first (one it rejects leaves the old job untouched);
the old job is stopped with a savepoint (no drain: its sink flushes at the savepoint's barrier and
its source reads nothing after it); the new job starts from that savepoint, its Kafka source at
exactly the savepoint's offsets. If the new job does not run (or Flink cannot map the savepoint's
state onto it), it is cancelled and the old statement, read from its job's parameters, starts
again from the same savepoint; the deploy then fails with Flink's own error. A stop with a
savepoint that fails leaves the old job running (Flink resumes it), and the deploy fails.

The savepoint's offsets are not committed to the consumer group (the group keeps those of the
last checkpoint), so the state, not the group, carries the position: the restore is strict
(`ignore-unclaimed-state` false) and the savepoint stays cdc-ops' (`NO_CLAIM`) for the rollback.
An old job that does not run (failing, or waiting for slots) cannot take a savepoint: the new one
starts beside it at the group's offsets and the old one is cancelled once the new runs (at least
once: what the old read after its last checkpoint is written twice).
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


def trace_cause(trace: str) -> str:
    """The useful line of a Java stack trace: its innermost `Caused by:`, else its first line."""
    causes = [
        ln.split("Caused by:", 1)[1].strip() for ln in trace.splitlines() if "Caused by:" in ln
    ]
    first = next((ln.strip() for ln in trace.splitlines() if ln.strip()), "")
    return (causes[-1] if causes else first)[:1000]


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
        savepoint_timeout_s: float = 60,
        **retry: Any,
    ) -> None:
        self._gateway = gateway_url.rstrip("/")
        self._jobmanager = jobmanager_url.rstrip("/")
        self._http = http or httpx.Client(timeout=30)
        self._rest = RetryingRest(self._http, sleep=sleep, **retry)
        self._sleep = sleep
        self._timeout = start_timeout_s
        self._savepoint_timeout = savepoint_timeout_s
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
        return trace_cause(text) if text else ""

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
        """Deploy the statement: Flink's planner first; then, if its job runs, replace it through
        a savepoint (see the module's docstring), else start the new job and cancel the old one
        once the new runs. Validated and submitted in one session: its tables are created once."""
        live = [j for j in self._ours(name) if j["state"] not in TERMINAL]
        running = [j["jid"] for j in live if phase_of(j)[0] == RUNNING]
        session = self.open_session()
        try:
            error = self._planned(session, ddl, insert)
            if error:
                raise StatementError(f"{name}: Flink rejected the statement: {error}")
            if running:
                return self._replace(session, name, ddl, insert, running[0], live)
            jid = self._submit(session, name, ddl, insert)
        finally:
            self.close_session(session)
        try:
            self._wait_running(jid)
        except StatementError as exc:
            self._cancel(jid)
            raise StatementError(f"{name}: {exc}; the previous one keeps running") from exc
        old = [j["jid"] for j in live]
        for previous in old:
            self._cancel(previous)
        self._wait_terminal(old)
        return self.status(name)

    def _replace(
        self,
        session: str,
        name: str,
        ddl: list[str],
        insert: str,
        old: str,
        live: list[dict[str, Any]],
    ) -> StatementState:
        previous = decode_sql(self._job_params(old).get(SQL_PARAM, ""))  # read before it stops
        savepoint = self._stop_with_savepoint(name, old)
        others = [j["jid"] for j in live if j["jid"] != old]  # strays beside it write twice
        for jid in others:
            self._cancel(jid)
        self._wait_terminal([old, *others])
        jid = ""
        try:
            jid = self._submit(session, name, ddl, insert, savepoint)
            self._wait_running(jid, checkpointed=True)
        except StatementError as exc:
            if jid:
                self._cancel(jid)
                self._wait_terminal([jid])
            raise self._restored(name, previous, savepoint, exc) from exc
        return self.status(name)

    def _restored(
        self, name: str, previous: dict[str, Any], savepoint: str, failure: StatementError
    ) -> StatementError:
        """The old statement started again from the savepoint; the error to raise."""
        what = f"{name}: the new version did not run: {failure}"
        if not previous.get("insert"):
            return StatementError(f"{what}; the previous version's SQL is unknown: not restored")
        session = self.open_session()
        try:
            for statement in previous.get("ddl", []):
                self.execute(session, _strip(statement))
            jid = self._submit(session, name, previous["ddl"], previous["insert"], savepoint)
            self._wait_running(jid)
        except StatementError as exc:
            return StatementError(
                f"{what}; restoring the previous version from savepoint {savepoint} failed"
                f" too: {exc}"
            )
        finally:
            self.close_session(session)
        return StatementError(
            f"{what}; the previous version was restored from savepoint {savepoint} (job {jid})"
        )

    def _submit(
        self, session: str, name: str, ddl: list[str], insert: str, savepoint: str | None = None
    ) -> str:
        """Submit the INSERT as a job named and marked as the statement's (from `savepoint`,
        strictly, when given); its job id. Its savepoints give up after savepoint_timeout_s:
        a stop with a savepoint is a checkpoint, bounded by the job's checkpoint timeout, and
        Flink then keeps the job running."""
        params = f"{STATEMENT_PARAM}:{name},{SQL_PARAM}:{encode_sql(ddl, insert)}"
        options = {
            "pipeline.name": name,
            "pipeline.global-job-parameters": params,
            "execution.checkpointing.timeout": f"{int(self._savepoint_timeout * 1000)} ms",
        }
        if savepoint:
            options |= {
                "execution.state-recovery.path": savepoint,
                # the savepoint stays ours: the rollback restores from it again
                "execution.state-recovery.claim-mode": "NO_CLAIM",
                # state Flink cannot map (a changed plan shape) fails the job, never dropped:
                # a source without its state would start at the group's older offsets
                "execution.state-recovery.ignore-unclaimed-state": "false",
            }
        try:
            for key, value in options.items():
                self.execute(session, f"SET '{key}' = '{_quote(value)}'")
            page = self.execute(session, _strip(insert))
        except StatementError as exc:
            raise StatementError(f"the gateway refused the statement: {exc}") from exc
        jid = page.get("jobID") or next(iter(self.rows(page)), [""])[0]
        if not jid:
            raise StatementError(f"the gateway submitted no job ({page})")
        return jid

    def _stop_with_savepoint(self, name: str, jid: str) -> str:
        """Stop the job with a savepoint (no drain); the savepoint's location. When it fails,
        Flink keeps the job running, and this raises."""
        url = f"{self._jobmanager}/jobs/{jid}"
        try:
            # sent once: a retried stop would trigger a second savepoint
            answer = self._http.post(f"{url}/stop", json={"drain": False})
            answer.raise_for_status()
            request = answer.json()["request-id"]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise StatementError(
                f"{name}: the JobManager did not take the stop with a savepoint of job {jid}:"
                f" {exc}; the job keeps running"
            ) from exc
        # Flink gives the savepoint up after the job's checkpoint timeout (savepoint_timeout_s
        # for jobs cdc-ops submitted); waited for a little longer to see that answer
        deadline = time.monotonic() + self._savepoint_timeout + 10
        while True:
            body = self._rest.request("GET", f"{url}/savepoints/{request}").json()
            if (body.get("status") or {}).get("id") == "COMPLETED":
                operation = body.get("operation") or {}
                if operation.get("location"):
                    return operation["location"]
                trace = (operation.get("failure-cause") or {}).get("stack-trace", str(operation))
                cause = trace_cause(trace)
                raise StatementError(
                    f"{name}: the stop with a savepoint of job {jid} failed: {cause};"
                    " the job keeps running"
                )
            if time.monotonic() > deadline:
                raise StatementError(
                    f"{name}: the savepoint of job {jid} did not complete in"
                    f" {self._savepoint_timeout:.0f}s; the job keeps running unless Flink"
                    " completes it later (then the statement stops: deploy it again)"
                )
            self._sleep(0.2)

    def _wait_running(self, jid: str, checkpointed: bool = False) -> None:
        """Until every task of the job runs (and, `checkpointed`, it has completed a checkpoint
        of its own: its source and sink have worked, and it no longer needs the savepoint)."""
        deadline = time.monotonic() + self._timeout
        while True:
            job = next((j for j in self._jobs() if j["jid"] == jid), None)
            phase, detail = phase_of(job) if job else ("PENDING", f"job {jid} not listed yet")
            if phase == RUNNING and (not checkpointed or self._checkpoints(jid) > 0):
                return
            if phase in ("FAILED", "FAILING", "STOPPED"):
                cause = self._exception(jid)
                raise StatementError(f"the new job did not reach RUNNING ({detail}): {cause}")
            if time.monotonic() > deadline:
                waited = "a checkpoint" if phase == RUNNING else "RUNNING"
                raise StatementError(
                    f"the new job did not reach {waited} in {self._timeout:.0f}s ({detail})"
                )
            self._sleep(0.2)

    def _checkpoints(self, jid: str) -> int:
        body = self._rest.request("GET", f"{self._jobmanager}/jobs/{jid}/checkpoints").json()
        return int((body.get("counts") or {}).get("completed", 0))

    def stop(self, name: str) -> None:
        """A removed filter's job is cancelled, not stopped with a savepoint: nothing would
        restore from it (a filter added back is created at its group's offsets), and a cancel
        works in any job state."""
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
