"""`cdc-ops stack up | down | status`: the local stack's components, in dependency order."""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cdc_ops.errors import PortInUseError, UsageError
from cdc_ops.settings import Settings
from cdc_ops.tools.stack.component import Component
from cdc_ops.tools.stack.connect import ConnectComponent
from cdc_ops.tools.stack.flink import FlinkJobManager, FlinkTaskManager, SqlGateway
from cdc_ops.tools.stack.kafka import KafkaComponent
from cdc_ops.tools.stack.moto import MotoComponent
from cdc_ops.tools.stack.pgbouncer import PgBouncerComponent
from cdc_ops.tools.stack.postgres import PostgresComponent
from cdc_ops.tools.stack.process import (
    ProcessRecord,
    is_alive,
    port_in_use,
    spawn,
    terminate,
    wait_until,
)

COMPONENTS: tuple[type[Component], ...] = (
    PostgresComponent,
    PgBouncerComponent,
    KafkaComponent,
    MotoComponent,
    # it needs the database, the broker and its topics
    ConnectComponent,
    FlinkJobManager,
    FlinkTaskManager,
    # last: it deploys again the statements a restarted JobManager forgot
    SqlGateway,
)
COMPONENT_NAMES = tuple(c.name for c in COMPONENTS)


class State(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"
    DEAD = "dead"
    NOT_ANSWERING = "not answering"


@dataclass(frozen=True)
class StatusRow:
    component: str
    address: str
    state: State
    detail: str
    pid: int | None = None


@dataclass(frozen=True)
class UpResult:
    component: str
    action: str  # "started", "restarted" (it had died) or "already running"
    seconds: float
    pid: int


Progress = Callable[[str], None]


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.components = [cls(settings) for cls in COMPONENTS]

    def select(self, names: Sequence[str] | None = None) -> list[Component]:
        if not names:
            return list(self.components)
        unknown = sorted(set(names) - set(COMPONENT_NAMES))
        if unknown:
            raise UsageError(
                f"unknown component(s): {', '.join(unknown)};"
                f" choose from {', '.join(COMPONENT_NAMES)}"
            )
        return [c for c in self.components if c.name in names]

    def component(self, name: str) -> Component:
        return self.select([name])[0]

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One `up` or `down` at a time per state directory."""
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        self.settings.state_dir.chmod(0o755)
        with open(self.settings.state_dir / "stack.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def record(self, component: Component) -> ProcessRecord | None:
        return ProcessRecord.load(component.record_path)

    def running(self, component: Component) -> bool:
        record = self.record(component)
        return record is not None and is_alive(record)

    def up(
        self, names: Sequence[str] | None = None, progress: Progress | None = None
    ) -> list[UpResult]:
        """Start what is not running; idempotent. Returns what was done per component."""
        say = progress or (lambda _msg: None)
        results = []
        with self._locked():
            selected = self.select(names)
            # Every port is checked before anything starts, so a busy one leaves nothing behind.
            for component in selected:
                if not self.running(component):
                    self._check_port(component)
            for component in selected:
                results.append(self._up_one(component, say))
        return results

    @staticmethod
    def _check_port(component: Component) -> None:
        for field, port in component.ports.items():
            if port_in_use(component.host, port):
                raise PortInUseError(
                    f"{component.name}: port {port} on {component.host} is in use by a process"
                    f" this stack did not start; free it or set {component.port_setting(field)}"
                )

    def _up_one(self, component: Component, say: Progress) -> UpResult:
        began = time.monotonic()
        timeout = self.settings.local.ready_timeout_s
        record = self.record(component)
        if record is not None and is_alive(record):
            wait_until(
                component.ready,
                timeout_s=timeout,
                what=component.name,
                alive=lambda: is_alive(record),
                log_path=component.log_path,
            )
            component.after_ready()
            say(f"{component.name}: already running (pid {record.pid})")
            return UpResult(component.name, "already running", time.monotonic() - began, record.pid)
        self._check_port(component)
        action = "restarted" if record is not None else "started"
        say(f"{component.name}: starting on {component.address}")
        component.prepare()
        record = spawn(
            component.name,
            component.argv(),
            component.log_path,
            user=component.run_as,
            env=component.env(),
        )
        record.save(component.record_path)
        try:
            wait_until(
                component.ready,
                timeout_s=timeout,
                what=component.name,
                alive=lambda: is_alive(record),
                log_path=component.log_path,
            )
            component.after_ready()
        except Exception:
            # leave nothing half-started behind
            terminate(record, component.stop_signal)
            component.record_path.unlink(missing_ok=True)
            raise
        seconds = time.monotonic() - began
        say(f"{component.name}: {action} in {seconds:.1f}s (pid {record.pid})")
        return UpResult(component.name, action, seconds, record.pid)

    def down(
        self, names: Sequence[str] | None = None, progress: Progress | None = None
    ) -> list[str]:
        """Stop exactly the processes this stack recorded; returns the components stopped."""
        say = progress or (lambda _msg: None)
        stopped = []
        with self._locked():
            for component in reversed(self.select(names)):
                record = self.record(component)
                if record is None:
                    continue
                if terminate(record, component.stop_signal):
                    stopped.append(component.name)
                    say(f"{component.name}: stopped (pid {record.pid})")
                else:
                    say(f"{component.name}: was not running (pid {record.pid} gone)")
                component.record_path.unlink(missing_ok=True)
        return stopped

    def status(self, names: Sequence[str] | None = None) -> list[StatusRow]:
        rows = []
        for component in self.select(names):
            record = self.record(component)
            if record is None:
                held = [p for p in component.ports.values() if port_in_use(component.host, p)]
                detail = f"port {held[0]} is held by another process" if held else ""
                rows.append(StatusRow(component.name, component.address, State.STOPPED, detail))
            elif not is_alive(record):
                rows.append(
                    StatusRow(
                        component.name,
                        component.address,
                        State.DEAD,
                        f"pid {record.pid} exited without `stack down`; see {component.log_path}",
                        record.pid,
                    )
                )
            else:
                try:
                    state, detail = State.RUNNING, component.detail()
                except Exception as exc:  # noqa: BLE001 - any failure to answer is the finding
                    state, detail = State.NOT_ANSWERING, f"{type(exc).__name__}: {exc}".strip()
                rows.append(StatusRow(component.name, component.address, state, detail, record.pid))
        return rows
