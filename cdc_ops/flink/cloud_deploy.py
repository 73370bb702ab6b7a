"""The deploy plan on Confluent Cloud: each filter statement is a series of versions.

A statement's SQL cannot change once submitted, so a change is a new version
(`<name>-<millis>`) created with `sql.tables.initial-offset-from` = the running version, which
is stopped only once the new one is RUNNING. A version Flink refuses (FAILED) leaves the running
one alone. Tables are the topics themselves on Confluent Cloud: no DDL is sent.
"""

from __future__ import annotations

import re
import time

from cdc_ops.flink.confluent_cloud import ConfluentCloudStatements
from cdc_ops.flink.statements import ABSENT, StatementError, StatementState

LIVE = {"PENDING", "RUNNING", "FAILING", "DEGRADED"}
_VERSION = re.compile(r"^(?P<base>.+)-(?P<version>\d{10,})$")


def base_name(name: str) -> str:
    match = _VERSION.match(name)
    return match["base"] if match else name


class CloudStatementBackend:
    kind = "confluent_cloud"

    def __init__(
        self,
        client: ConfluentCloudStatements,
        prefix: str = "cdc-filter-",
        start_timeout_s: float = 300,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._timeout = start_timeout_s

    def _live(self) -> dict[str, StatementState]:
        """The newest live version of each statement, by base name."""
        newest: dict[str, StatementState] = {}
        for state in self._client.list():
            if not state.name.startswith(self._prefix) or state.phase not in LIVE:
                continue
            base = base_name(state.name)
            if base not in newest or state.name > newest[base].name:
                newest[base] = state
        return newest

    def names(self) -> list[str]:
        return sorted(self._live())

    def status(self, name: str) -> StatementState:
        live = self._live().get(name)
        if live is None:
            return StatementState(name, ABSENT)
        return StatementState(name, live.phase, f"version {live.name}", live.sql, live.offsets)

    def validate(self, name: str, ddl: list[str], insert: str) -> str | None:
        return None  # Confluent Cloud validates on submission; a refusal ends in FAILED

    def deploy(self, name: str, ddl: list[str], insert: str) -> StatementState:
        old = self._live().get(name)
        version = f"{name}-{int(time.time() * 1000)}"
        self._client.create(
            version, insert.rstrip().rstrip(";"), offsets_from=old.name if old else None
        )
        try:
            running = self._client.wait_running(version, self._timeout)
        except StatementError:
            self._client.delete(version)
            raise
        if old is not None:
            self._client.stop(old.name)
        return StatementState(
            name, running.phase, f"version {version}", running.sql, running.offsets
        )

    def stop(self, name: str) -> None:
        live = self._live().get(name)
        if live is not None:
            self._client.stop(live.name)
