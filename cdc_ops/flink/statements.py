"""Flink statements as the control plane sees them, whatever runs them: a name (`cdc-filter-<name>`
after its filter), a phase, and the backend protocol every runner implements.

The runners: Confluent Cloud's statements API (flink/confluent_cloud.py and its deploy plan in
flink/cloud_deploy.py) and the open-source SQL Gateway with its session cluster
(flink/sql_gateway.py; the local stack's Flink, or a self-managed one on AWS).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from cdc_ops.clients.rest import RestError
from cdc_ops.states import ABSENT_PHASE

if TYPE_CHECKING:
    from cdc_ops.flink.runtime import StatementRuntime

ABSENT = ABSENT_PHASE  # a statement that does not exist, in Flink's upper case
RUNNING = "RUNNING"
TERMINAL_FAILURE = {"FAILED", "FAILING"}


class StatementError(RestError):
    """A statement could not be created, stopped or brought to RUNNING."""


@dataclass(frozen=True)
class StatementState:
    name: str
    phase: str  # PENDING, RUNNING, COMPLETED, STOPPED, FAILING, FAILED, DELETING, or ABSENT
    detail: str = ""
    sql: str = ""
    offsets: dict[str, str] = field(default_factory=dict)
    job_id: str = ""  # the Flink job that runs it, where the runner has one (SQL Gateway)
    # what the job is doing (records, backpressure, checkpoints, its last exception), when read
    runtime: StatementRuntime | None = None


class StatementBackend(Protocol):
    kind: str

    def names(self) -> list[str]: ...
    def status(self, name: str) -> StatementState: ...
    def validate(self, name: str, ddl: list[str], insert: str) -> str | None: ...
    def deploy(self, name: str, ddl: list[str], insert: str) -> StatementState: ...
    def stop(self, name: str) -> None: ...
