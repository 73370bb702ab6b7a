"""Statement backends against the documented Confluent Cloud (sql/v1) and SQL Gateway shapes."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from cdc_ops.flink.confluent_cloud import ConfluentCloudStatements
from cdc_ops.flink.sql_gateway import (
    SQL_PARAM,
    STATEMENT_PARAM,
    SqlGatewayStatements,
    decode_sql,
    encode_sql,
    phase_of,
)
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
    """updateSqlv1Statement (flink-gateway/v1/api/openapi.yaml): 202 "A Statement is being
    updated" with no body; the request requires name, metadata.resource_version and
    spec.stopped, and readOnly fields are not sent back."""
    live = statement("s1", "RUNNING") | {
        "api_version": "sql/v1",
        "kind": "Statement",
        "organization_id": "org-1",
        "environment_id": "env-1",
        "result": {"results": {}},
    }
    live["metadata"] |= {"self": f"{BASE}/s1", "created_at": "2026-12-01T08:00:00Z", "uid": "u1"}
    live["spec"]["execution_mode"] = "streaming"
    respx.get(f"{BASE}/s1").mock(
        side_effect=[
            httpx.Response(200, json=live),
            httpx.Response(200, json=statement("s1", "STOPPING", stopped=True)),
        ]
    )
    put = respx.put(f"{BASE}/s1").mock(
        side_effect=[
            httpx.Response(409, json={"errors": [{"detail": "resource version mismatch"}]}),
            httpx.Response(202),  # no body, as documented
        ]
    )
    assert cloud().stop("s1").phase == "STOPPING"
    sent = json.loads(put.calls.last.request.content)
    assert sent["spec"]["stopped"] is True and sent["metadata"] == {"resource_version": "7"}
    assert sent["name"] == "s1" and sent["organization_id"] == "org-1"
    for read_only in ("api_version", "kind", "status", "result"):
        assert read_only not in sent
    assert "execution_mode" not in sent["spec"]


GW = "http://gateway.test:8083"
JM = "http://jobmanager.test:8081"


def _gateway_session(session: str = "sess-1") -> None:
    respx.post(f"{GW}/v1/sessions").mock(
        return_value=httpx.Response(200, json={"sessionHandle": session})
    )
    respx.delete(f"{GW}/v1/sessions/{session}").mock(
        return_value=httpx.Response(200, json={"status": "CLOSED"})
    )


def _operations(session: str, results: list[dict]) -> respx.Route:
    """Each submitted statement gets an operation that is RUNNING once, then FINISHED with the
    next result page (as the gateway answered for DDL, SET, EXPLAIN and INSERT)."""
    submitted = respx.post(f"{GW}/v3/sessions/{session}/statements").mock(
        side_effect=[
            httpx.Response(200, json={"operationHandle": f"op-{i}"}) for i in range(len(results))
        ]
    )
    for i, page in enumerate(results):
        respx.get(f"{GW}/v3/sessions/{session}/operations/op-{i}/status").mock(
            side_effect=[
                httpx.Response(200, json={"status": "RUNNING"}),
                httpx.Response(200, json={"status": "FINISHED"}),
            ]
        )
        respx.get(f"{GW}/v3/sessions/{session}/operations/op-{i}/result/0").mock(
            return_value=httpx.Response(200, json=page)
        )
    return submitted


OK_PAGE = {
    "resultType": "PAYLOAD",
    "isQueryResult": False,
    "resultKind": "SUCCESS",
    "results": {"rowFormat": "JSON", "data": [{"kind": "INSERT", "fields": ["OK"]}]},
}


def _job(jid: str, name: str, state: str, running: int = 1, total: int = 1, start: int = 1):
    return {
        "jid": jid,
        "name": name,
        "state": state,
        "start-time": start,
        "tasks": {"total": total, "running": running},
    }


@respx.mock
def test_deploy_submits_named_marked_sql_and_waits_for_every_task() -> None:
    _gateway_session()
    insert_page = {
        "resultType": "PAYLOAD",
        "jobID": "3f1c0aa0job",
        "resultKind": "SUCCESS_WITH_CONTENT",
        "results": {"data": [{"kind": "INSERT", "fields": ["3f1c0aa0job"]}]},
    }
    # one session: DDL, EXPLAIN, SET name, SET parameters, SET checkpoint timeout, INSERT
    submitted = _operations("sess-1", [OK_PAGE] * 5 + [insert_page])
    overview = respx.get(f"{JM}/jobs/overview").mock(
        side_effect=[
            httpx.Response(200, json={"jobs": []}),  # no old job
            httpx.Response(200, json={"jobs": [_job("3f1c0aa0job", "cdc-filter-x", "RUNNING", 0)]}),
            httpx.Response(200, json={"jobs": [_job("3f1c0aa0job", "cdc-filter-x", "RUNNING")]}),
            httpx.Response(200, json={"jobs": [_job("3f1c0aa0job", "cdc-filter-x", "RUNNING")]}),
        ]
    )
    ddl, insert = ["CREATE TABLE IF NOT EXISTS `a` (x INT)"], "INSERT INTO `a` SELECT 1;"
    respx.get(f"{JM}/jobs/3f1c0aa0job/config").mock(
        return_value=httpx.Response(
            200,
            json={
                "jid": "3f1c0aa0job",
                "execution-config": {
                    "user-config": {
                        STATEMENT_PARAM: "cdc-filter-x",
                        SQL_PARAM: encode_sql(ddl, insert),
                    }
                },
            },
        )
    )
    gateway = SqlGatewayStatements(GW, JM, sleep=lambda _s: None)
    state = gateway.deploy("cdc-filter-x", ddl, insert)
    assert (state.phase, state.sql) == ("RUNNING", insert)
    assert "1/1 task(s) running" in state.detail
    sent = [json.loads(c.request.content)["statement"] for c in submitted.calls]
    assert sent[0] == "CREATE TABLE IF NOT EXISTS `a` (x INT)"
    assert sent[1] == "EXPLAIN INSERT INTO `a` SELECT 1"
    assert sent[2] == "SET 'pipeline.name' = 'cdc-filter-x'"
    assert sent[3].startswith(
        "SET 'pipeline.global-job-parameters' = 'cdc-ops.statement:cdc-filter-x,"
    )
    # a first deploy restores from nothing; its savepoints are bounded by the checkpoint timeout
    assert sent[4] == "SET 'execution.checkpointing.timeout' = '60000 ms'"
    assert sent[5] == "INSERT INTO `a` SELECT 1"
    assert not any("state-recovery" in statement for statement in sent)
    assert overview.call_count == 4


@respx.mock
def test_the_gateway_error_is_flinks_innermost_cause() -> None:
    _gateway_session("s")
    respx.post(f"{GW}/v3/sessions/s/statements").mock(
        return_value=httpx.Response(200, json={"operationHandle": "o"})
    )
    respx.get(f"{GW}/v3/sessions/s/operations/o/status").mock(
        return_value=httpx.Response(200, json={"status": "ERROR"})
    )
    # the gateway's answer to the result fetch of a failed operation: 500 with the stack trace
    failed = respx.get(f"{GW}/v3/sessions/s/operations/o/result/0").mock(
        return_value=httpx.Response(
            500,
            json={
                "errors": [
                    "Internal server error.",
                    "<Exception on server side:\norg.apache.flink.table.gateway.api.utils."
                    "SqlGatewayException: Failed to fetchResults.\n\tat org.apache.flink..."
                    "\nCaused by: org.apache.flink.table.api.ValidationException: SQL validation"
                    " failed. From line 1, column 8\nCaused by: org.apache.calcite.sql.validate."
                    "SqlValidatorException: Column 'colour' not found in any table\n\tat ...",
                ]
            },
        )
    )
    gateway = SqlGatewayStatements(GW, JM, sleep=lambda _s: None)
    error = gateway.validate("x", [], "INSERT INTO t SELECT colour FROM s")
    assert error == (
        "org.apache.calcite.sql.validate.SqlValidatorException:"
        " Column 'colour' not found in any table"
    )
    assert failed.call_count == 1  # a failed operation's 500 is not retried


@respx.mock
def test_status_follows_the_newest_live_job_and_ignores_jobs_it_did_not_submit() -> None:
    respx.get(f"{JM}/jobs/overview").mock(
        return_value=httpx.Response(
            200,
            json={
                "jobs": [
                    _job("old", "cdc-filter-x", "CANCELED", start=1),
                    _job("new", "cdc-filter-x", "RUNNING", running=0, total=1, start=2),
                    _job("theirs", "someone-elses", "RUNNING"),
                ]
            },
        )
    )
    for jid, params in (
        ("old", {STATEMENT_PARAM: "cdc-filter-x"}),
        ("new", {STATEMENT_PARAM: "cdc-filter-x", SQL_PARAM: encode_sql([], "INSERT 2")}),
        ("theirs", {}),
    ):
        respx.get(f"{JM}/jobs/{jid}/config").mock(
            return_value=httpx.Response(200, json={"execution-config": {"user-config": params}})
        )
    gateway = SqlGatewayStatements(GW, JM, sleep=lambda _s: None)
    state = gateway.status("cdc-filter-x")
    # RUNNING at job level, but its task has no slot yet
    assert (state.phase, state.sql) == ("PENDING", "INSERT 2")
    assert gateway.names() == ["cdc-filter-x"]
    assert gateway.status("someone-elses").phase == "ABSENT"


def test_phases_of_jobmanager_states() -> None:
    assert phase_of(_job("j", "n", "RUNNING", 2, 2))[0] == "RUNNING"
    assert phase_of(_job("j", "n", "RUNNING", 1, 2))[0] == "PENDING"
    assert phase_of(_job("j", "n", "RESTARTING"))[0] == "FAILING"
    assert phase_of(_job("j", "n", "FAILED"))[0] == "FAILED"
    assert phase_of(_job("j", "n", "CANCELED"))[0] == "STOPPED"


def test_sql_travels_as_a_job_parameter_without_the_maps_separators() -> None:
    ddl, insert = ["CREATE TABLE `a,b` (x INT)"], "INSERT INTO `a:b` SELECT 'x,y:z'"
    value = encode_sql(ddl, insert)
    assert not set(value) & set(":,'= ")
    assert decode_sql(value) == {"ddl": ddl, "insert": insert}


def test_regex_literals_are_found_inside_nested_calls() -> None:
    from cdc_ops.flink.sql_gateway import regex_literals

    sql = (
        "WHERE (REGEXP(JSON_VALUE(`event_data`, '$.a'), '^Lo''an[0-9]+$') AND "
        "REGEXP(`x`, '[a-z]{2}(q)'))"
    )
    assert regex_literals(sql) == ["^Lo'an[0-9]+$", "[a-z]{2}(q)"]
    assert regex_literals("WHERE `a` = 'REGEXP('") == []


class FakeFlink:
    """The SQL Gateway and the JobManager as one httpx transport, with just the state a
    replacement touches: jobs, their parameters, savepoints. `new_job` says what the next INSERT
    does ("runs", "fails" or "refused": Flink cannot map the savepoint's state onto it);
    `savepoint` what a stop with a savepoint does ("completes" or "fails")."""

    FAILURE = (
        "org.apache.flink.runtime.JobException: Recovery is suppressed\n\tat org.apache...\n"
        "Caused by: org.apache.flink.kafka.shaded.org.apache.kafka.common.KafkaException:"
        " The transaction timeout is larger than the maximum value allowed by the broker\n\tat x"
    )

    def __init__(self, new_job: list[str], savepoint: str = "completes", reject: bool = False):
        self.new_job, self.savepoint, self.reject = list(new_job), savepoint, reject
        self.jobs: dict[str, dict] = {}
        self.params: dict[str, dict[str, str]] = {}
        self.restored_from: dict[str, str | None] = {}
        self.sets: dict[str, dict[str, str]] = {}  # session -> its SET options
        self.ops: dict[str, tuple[str, dict | str]] = {}  # op -> (status, page or error)
        self.log: list[str] = []  # what was done, in order

    def running_job(self, name: str, ddl: list[str], insert: str) -> str:
        return self._job(name, {STATEMENT_PARAM: name, SQL_PARAM: encode_sql(ddl, insert)}, None)

    def _job(self, name: str, params: dict[str, str], restored: str | None) -> str:
        jid = f"job-{len(self.jobs) + 1}"
        self.jobs[jid] = _job(jid, name, "RUNNING", start=len(self.jobs) + 1)
        self.params[jid], self.restored_from[jid] = params, restored
        return jid

    def live(self) -> dict[str, str]:
        return {j["jid"]: j["state"] for j in self.jobs.values() if j["state"] == "RUNNING"}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if path == "/v1/sessions" and method == "POST":
            session = f"s{len(self.sets) + 1}"
            self.sets[session] = {}
            return httpx.Response(200, json={"sessionHandle": session})
        if path.startswith("/v1/sessions/") and method == "DELETE":
            return httpx.Response(200, json={"status": "CLOSED"})
        if path.endswith("/statements"):
            return self._statement(path.split("/")[3], json.loads(request.content)["statement"])
        if "/operations/" in path:
            status, page = self.ops[path.split("/")[5]]
            if path.endswith("/status"):
                return httpx.Response(200, json={"status": status})
            if status == "ERROR":
                return httpx.Response(500, json={"errors": ["Internal server error.", page]})
            return httpx.Response(200, json=page)
        return self._jobmanager(method, path, request)

    def _statement(self, session: str, sql: str) -> httpx.Response:
        op = f"op-{len(self.ops)}"
        self.ops[op] = ("FINISHED", OK_PAGE)
        if sql.startswith("SET '"):
            key, value = sql[len("SET '") :].split("' = '", 1)
            self.sets[session][key] = value[:-1].replace("''", "'")
        elif sql.startswith("EXPLAIN"):
            self.log.append("explain")
            if self.reject:
                self.ops[op] = ("ERROR", "Caused by: SqlValidatorException: Column 'colour'")
        elif sql.startswith("INSERT"):
            options = self.sets[session]
            restored = options.get("execution.state-recovery.path")
            self.log.append(f"insert from {restored}")
            behaviour = self.new_job.pop(0)
            if behaviour == "refused":
                self.ops[op] = (
                    "ERROR",
                    "Caused by: java.lang.IllegalStateException: Failed to rollback to"
                    " checkpoint/savepoint. Cannot map checkpoint/savepoint state for operator",
                )
            else:
                params = dict(
                    p.split(":", 1) for p in options["pipeline.global-job-parameters"].split(",")
                )
                jid = self._job(options["pipeline.name"], params, restored)
                if behaviour == "fails":
                    self.jobs[jid]["state"] = "RESTARTING"
                self.ops[op] = ("FINISHED", {"resultType": "PAYLOAD", "jobID": jid})
        return httpx.Response(200, json={"operationHandle": op})

    def _jobmanager(self, method: str, path: str, request: httpx.Request) -> httpx.Response:
        if path == "/jobs/overview":
            return httpx.Response(200, json={"jobs": list(self.jobs.values())})
        jid = path.split("/")[2]
        job = self.jobs[jid]
        if path.endswith("/config"):
            return httpx.Response(200, json={"execution-config": {"user-config": self.params[jid]}})
        if path.endswith("/stop"):
            assert json.loads(request.content) == {"drain": False}
            self.log.append(f"stop {jid}")
            return httpx.Response(202, json={"request-id": "r-1"})
        if "/savepoints/" in path:
            if self.savepoint == "fails":  # Flink keeps the job running
                cause = {
                    "stack-trace": "java.util.concurrent.CompletionException: x\n"
                    "Caused by: CheckpointException: Checkpoint expired before completing."
                }
                return httpx.Response(
                    200, json={"status": {"id": "COMPLETED"}, "operation": {"failure-cause": cause}}
                )
            job["state"] = "FINISHED"
            location = f"file:/savepoints/savepoint-{jid}"
            return httpx.Response(
                200, json={"status": {"id": "COMPLETED"}, "operation": {"location": location}}
            )
        if path.endswith("/checkpoints"):
            return httpx.Response(200, json={"counts": {"completed": 1}})
        if path.endswith("/exceptions"):
            entries = [{"stacktrace": self.FAILURE}] if job["state"] == "RESTARTING" else []
            return httpx.Response(200, json={"exceptionHistory": {"entries": entries}})
        if method == "PATCH":
            self.log.append(f"cancel {jid}")
            job["state"] = "CANCELED"
            return httpx.Response(202, json={})
        raise AssertionError(f"unexpected {method} {path}")


DDL = ["CREATE TABLE IF NOT EXISTS `raw` (x INT)", "CREATE TABLE IF NOT EXISTS `out` (x INT)"]
OLD_SQL = "INSERT INTO `out` SELECT x FROM `raw` WHERE x = 1"
NEW_SQL = "INSERT INTO `out` SELECT x FROM `raw` WHERE x IN (1, 2)"


def _gateway(flink: FakeFlink) -> SqlGatewayStatements:
    http = httpx.Client(transport=httpx.MockTransport(flink))
    return SqlGatewayStatements(GW, JM, http=http, sleep=lambda _s: None)


def test_a_running_statement_is_replaced_from_its_savepoint() -> None:
    flink = FakeFlink(new_job=["runs"])
    old = flink.running_job("cdc-filter-x", DDL, OLD_SQL)
    state = _gateway(flink).deploy("cdc-filter-x", DDL, NEW_SQL)
    assert flink.log == ["explain", f"stop {old}", f"insert from file:/savepoints/savepoint-{old}"]
    assert (state.phase, state.sql, state.job_id) == ("RUNNING", NEW_SQL, "job-2")
    assert flink.jobs[old]["state"] == "FINISHED" and flink.live() == {"job-2": "RUNNING"}
    options = flink.sets["s1"]  # validated and submitted in one session
    assert options["execution.state-recovery.claim-mode"] == "NO_CLAIM"  # reusable by a rollback
    assert options["execution.state-recovery.ignore-unclaimed-state"] == "false"
    assert decode_sql(flink.params["job-2"][SQL_PARAM]) == {"ddl": DDL, "insert": NEW_SQL}


@pytest.mark.parametrize("new_job", ["fails", "refused"])
def test_a_new_version_that_does_not_run_gives_way_to_the_old_from_the_same_savepoint(
    new_job: str,
) -> None:
    flink = FakeFlink(new_job=[new_job, "runs"])
    old = flink.running_job("cdc-filter-x", DDL, OLD_SQL)
    savepoint = f"file:/savepoints/savepoint-{old}"
    with pytest.raises(StatementError) as raised:
        _gateway(flink).deploy("cdc-filter-x", DDL, NEW_SQL)
    message = str(raised.value)
    # Flink's own cause, then what became of the statement
    cause = {
        "fails": "KafkaException: The transaction timeout is larger than the maximum value",
        "refused": "Cannot map checkpoint/savepoint state for operator",
    }[new_job]
    assert cause in message
    assert f"the previous version was restored from savepoint {savepoint}" in message
    restored = next(j for j in flink.live())
    assert decode_sql(flink.params[restored][SQL_PARAM]) == {"ddl": DDL, "insert": OLD_SQL}
    assert flink.restored_from[restored] == savepoint
    assert list(flink.live()) == [restored]  # the failed new job was cancelled
    if new_job == "fails":
        assert flink.log[-2:] == ["cancel job-2", f"insert from {savepoint}"]


def test_a_statement_flink_rejects_never_touches_the_old_job() -> None:
    flink = FakeFlink(new_job=[], reject=True)
    old = flink.running_job("cdc-filter-x", DDL, OLD_SQL)
    with pytest.raises(StatementError, match="Flink rejected the statement: .*Column 'colour'"):
        _gateway(flink).deploy("cdc-filter-x", DDL, NEW_SQL)
    assert flink.log == ["explain"] and flink.live() == {old: "RUNNING"}


def test_a_failed_savepoint_leaves_the_old_job_running_and_fails_the_deploy() -> None:
    flink = FakeFlink(new_job=["runs"], savepoint="fails")
    old = flink.running_job("cdc-filter-x", DDL, OLD_SQL)
    with pytest.raises(StatementError) as raised:
        _gateway(flink).deploy("cdc-filter-x", DDL, NEW_SQL)
    assert str(raised.value) == (
        f"cdc-filter-x: the stop with a savepoint of job {old} failed: CheckpointException:"
        " Checkpoint expired before completing.; the job keeps running"
    )
    assert flink.log == ["explain", f"stop {old}"]  # nothing submitted, nothing cancelled
    assert flink.live() == {old: "RUNNING"}
