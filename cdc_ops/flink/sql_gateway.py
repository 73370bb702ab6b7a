"""The open-source Flink SQL Gateway's REST API (v2 sessions and operations)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from cdc_ops.clients.rest import RetryingRest
from cdc_ops.flink.statements import (
    ABSENT,
    RUNNING,
    StatementError,
    StatementState,
)


class SqlGatewayStatements:
    """The open-source Flink SQL Gateway's REST API (v1): a session, statements, operations.
    A statement's job is named after it (`pipeline.name`) so its state can be found again."""

    kind = "sql_gateway"

    def __init__(
        self,
        base_url: str,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **retry: Any,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._rest = RetryingRest(http or httpx.Client(timeout=30), sleep=sleep, **retry)
        self._sleep = sleep
        self._session: str | None = None

    def session(self) -> str:
        if self._session is None:
            answer = self._rest.request(
                "POST", f"{self._base}/v1/sessions", json={"sessionName": "cdc-ops"}
            ).json()
            self._session = answer["sessionHandle"]
        return self._session

    def execute(self, sql: str, timeout_s: float = 120) -> list[list[Any]]:
        """Run one statement; wait for its operation; return the rows of its first result page."""
        s = self.session()
        op = self._rest.request(
            "POST", f"{self._base}/v1/sessions/{s}/statements", json={"statement": sql}
        ).json()["operationHandle"]
        deadline = time.monotonic() + timeout_s
        while True:
            status = self._rest.request(
                "GET", f"{self._base}/v1/sessions/{s}/operations/{op}/status"
            ).json()["status"]
            if status == "FINISHED":
                break
            if status in ("ERROR", "CANCELED", "CLOSED", "TIMEOUT"):
                result = self._rest.request(
                    "GET", f"{self._base}/v1/sessions/{s}/operations/{op}/result/0"
                )
                raise StatementError(f"SQL Gateway {status}: {result.text[:500]}")
            if time.monotonic() > deadline:
                raise StatementError(f"SQL Gateway operation {op} still {status}")
            self._sleep(0.5)
        result = self._rest.request(
            "GET", f"{self._base}/v1/sessions/{s}/operations/{op}/result/0"
        ).json()
        return [row.get("fields", []) for row in result.get("results", {}).get("data", [])]

    def create(self, name: str, ddl: list[str], insert: str) -> str:
        """Create the tables, then submit the INSERT as a job named `name`; returns its job id."""
        for statement in ddl:
            self.execute(statement)
        self.execute(f"SET 'pipeline.name' = '{name}'")
        rows = self.execute(insert)
        return str(rows[0][0]) if rows and rows[0] else ""

    def status(self, name: str) -> StatementState:
        for job_id, job_name, state, *_ in self.execute("SHOW JOBS"):
            if job_name == name and state not in ("CANCELED", "FINISHED"):
                return StatementState(name, str(state), detail=f"job {job_id}")
        return StatementState(name, ABSENT)

    def stop(self, name: str) -> None:
        for job_id, job_name, state, *_ in self.execute("SHOW JOBS"):
            if job_name == name and state == RUNNING:
                self.execute(f"STOP JOB '{job_id}'")
