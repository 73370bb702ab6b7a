"""The connector backend for the local stack: the embedded Debezium worker, a stack component.

The same verbs as Kafka Connect: apply writes the properties the worker reads (and restarts it
when they changed), status reads the worker's process and status file, restart/stop/resume act
on the process, and offsets are what the replication slot has confirmed.
"""

from __future__ import annotations

from typing import Any

from cdc_ops.connector.backends import (
    ABSENT,
    FAILED,
    RUNNING,
    ApplyResult,
    ConnectorStatus,
    TaskStatus,
)
from cdc_ops.settings import Settings
from cdc_ops.slot.reading import observe_slot
from cdc_ops.tools.stack.connector import ConnectorComponent, write_connector_spec
from cdc_ops.tools.stack.process import is_alive


class EmbeddedBackend:
    kind = "embedded"

    def __init__(self, settings: Settings) -> None:
        from cdc_ops.tools.stack import Stack

        self._settings = settings
        self._stack = Stack(settings)
        self._component: ConnectorComponent = self._stack.component("connector")  # type: ignore[assignment]
        self._name = settings.connector.name

    def apply(self, config: dict[str, str]) -> ApplyResult:
        existed = (self._component.home / "config.json").exists()
        changed = write_connector_spec(self._settings, config)
        if not changed:
            return ApplyResult.UNCHANGED
        if self._stack.running(self._component):
            self.restart()
        return ApplyResult.UPDATED if existed else ApplyResult.CREATED

    def status(self) -> ConnectorStatus:
        component = self._component
        if not (component.home / "config.json").exists():
            return ConnectorStatus(self._name, ABSENT)
        record = self._stack.record(component)
        if record is None:
            return ConnectorStatus(self._name, "STOPPED")
        worker = component.worker_status()
        if not is_alive(record):
            trace = (
                worker.get("error")
                or f"worker process {record.pid} exited; see {component.log_path}"
            )
            return ConnectorStatus(
                self._name, FAILED, [TaskStatus(0, FAILED, "embedded", trace)], "embedded", trace
            )
        state = worker.get("state", "STARTING")
        task_state = (
            RUNNING if state == RUNNING else ("UNASSIGNED" if state == "STARTING" else state)
        )
        worker_id = f"pid {record.pid}"
        task = TaskStatus(0, task_state, worker_id, worker.get("error", ""))
        overall = RUNNING if state in (RUNNING, "STARTING") else state
        return ConnectorStatus(self._name, overall, [task], worker_id)

    def restart(self, include_tasks: bool = True, only_failed: bool = True) -> ConnectorStatus:
        self._stack.down(["connector"])
        self._stack.up(["connector"])
        return self.status()

    def pause(self) -> None:
        self._stack.down(["connector"])

    def resume(self) -> None:
        self._stack.up(["connector"])

    def stop(self) -> None:
        self._stack.down(["connector"])

    def offsets(self) -> list[dict[str, Any]]:
        slot = observe_slot(self._settings)
        return [
            {
                "partition": {"slot": slot.name},
                "offset": {"confirmed_flush_lsn": slot.confirmed_flush_lsn},
            }
        ]
