"""The local Flink: a session cluster (a JobManager and a TaskManager) and the Flink SQL Gateway,
run by the Flink 2.0 distribution's own scripts from the PyFlink wheel, with directories of the
project's own: conf (config.yaml written here), lib (the distribution's jars and the Kafka SQL
connector), opt (the SQL Gateway jar), log and pid, all under the state directory.

The cluster has no high availability: a JobManager that stops forgets its jobs. The stack
therefore records the statements deployed through it (`RecordedStatements`), and `up` deploys
again those the cluster no longer runs; they start at their consumer groups' committed offsets,
so nothing is lost (what the old job read after its last checkpoint is read again). A statement
replaced while the cluster runs goes through a savepoint in `savepoints/` instead (see
cdc_ops/flink/sql_gateway.py): nothing read twice.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import httpx
import yaml

from cdc_ops.flink.statements import ABSENT, StatementBackend, StatementState
from cdc_ops.settings import Settings
from cdc_ops.tools.stack.component import Component
from cdc_ops.tools.stack.jvm import JvmParts


class FlinkLayout:
    """The project-owned directories the distribution's scripts are pointed at."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.state_dir / "flink"
        self.conf, self.lib, self.opt = self.root / "conf", self.root / "lib", self.root / "opt"
        self.log, self.pid, self.tmp = self.root / "log", self.root / "pid", self.root / "tmp"
        self.checkpoints, self.savepoints = self.root / "checkpoints", self.root / "savepoints"
        self.record = self.root / "statements.json"

    def config(self, dist_conf: Path) -> dict[str, Any]:
        local, host = self.settings.local, self.settings.local.host
        shipped = yaml.safe_load((dist_conf / "config.yaml").read_text())
        return {
            # the --add-opens list the distribution needs on Java 17
            "env": {"java": {"opts": {"all": shipped["env"]["java"]["opts"]["all"]}}},
            "jobmanager": {
                "bind-host": host,
                "rpc": {"address": host, "port": local.ports.flink_rpc},
                "memory": {"process": {"size": f"{local.flink_jobmanager_mb}m"}},
                "execution": {"failover-strategy": "region"},
            },
            "taskmanager": {
                "bind-host": host,
                "host": host,
                "numberOfTaskSlots": local.flink_task_slots,
                "memory": {"process": {"size": f"{local.flink_taskmanager_mb}m"}},
            },
            "parallelism": {"default": 1},
            "rest": {"address": host, "bind-address": host, "port": local.ports.flink},
            "io": {"tmp": {"dirs": str(self.tmp)}},
            # the consumer groups' offsets are committed at each checkpoint (not at a savepoint:
            # a replacement's position is in the savepoint, kept there after the restore)
            "execution": {
                "target": "remote",
                "checkpointing": {
                    "interval": f"{int(local.flink_checkpoint_interval_s * 1000)} ms",
                    "dir": self.checkpoints.as_uri(),
                    "savepoint-dir": self.savepoints.as_uri(),
                },
            },
            "sql-gateway": {
                "endpoint": {
                    "rest": {"address": host, "bind-address": host, "port": local.ports.sql_gateway}
                }
            },
        }

    def prepare(self, parts: JvmParts) -> None:
        home = parts.flink_home
        for d in (self.conf, self.lib, self.opt, self.log, self.pid, self.tmp):
            d.mkdir(parents=True, exist_ok=True)
        self.checkpoints.mkdir(exist_ok=True)
        self.savepoints.mkdir(exist_ok=True)
        dist_conf = home / "conf"
        for name in ("log4j-console.properties", "log4j.properties", "log4j-cli.properties"):
            shutil.copyfile(dist_conf / name, self.conf / name)
        header = "# written by cdc-ops stack up; edits are overwritten\n"
        self.conf.joinpath("config.yaml").write_text(
            header + yaml.safe_dump(self.config(dist_conf), sort_keys=False)
        )
        # lib: the distribution's jars (exactly one flink-dist) and the Kafka SQL connector;
        # opt: exactly one flink-sql-gateway jar, which sql-gateway.sh looks for by glob
        wanted = {p.name: p for p in sorted((home / "lib").glob("*.jar")) + parts.flink_extra_lib}
        _link_exactly(self.lib, wanted)
        _link_exactly(self.opt, {p.name: p for p in parts.flink_opt})

    def env(self, parts: JvmParts) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            FLINK_CONF_DIR=str(self.conf),
            FLINK_LIB_DIR=str(self.lib),
            FLINK_OPT_DIR=str(self.opt),
            FLINK_LOG_DIR=str(self.log),
            FLINK_PID_DIR=str(self.pid),
            FLINK_ENV_JAVA_OPTS_SQL_GATEWAY=(
                f"-Xms128m -Xmx{self.settings.local.sql_gateway_heap_mb}m"
            ),
        )
        java = shutil.which(parts.java)
        if java and "JAVA_HOME" not in os.environ:
            env["JAVA_HOME"] = str(Path(java).resolve().parent.parent)
        return env


def _link_exactly(directory: Path, wanted: dict[str, Path]) -> None:
    for existing in directory.iterdir():
        if existing.name not in wanted or existing.resolve() != wanted[existing.name].resolve():
            existing.unlink()
    for name, target in wanted.items():
        link = directory / name
        if not link.exists():
            link.symlink_to(target)


class _FlinkComponent(Component):
    script: str

    @property
    def layout(self) -> FlinkLayout:
        return FlinkLayout(self.settings)

    def prepare(self) -> None:
        self.layout.prepare(JvmParts(self.settings))

    def argv(self) -> list[str]:
        home = JvmParts(self.settings).flink_home
        # start-foreground ends in `exec java`: the recorded PID is the JVM's
        return ["bash", str(home / "bin" / self.script), "start-foreground"]

    def env(self) -> dict[str, str]:
        return self.layout.env(JvmParts(self.settings))

    @property
    def rest(self) -> str:
        return self.settings.flink.jobmanager_url or ""

    def overview(self) -> dict[str, Any]:
        return httpx.get(f"{self.rest}/overview", timeout=2).json()


class FlinkJobManager(_FlinkComponent):
    name = "flink"
    port_fields = ("flink", "flink_rpc")
    script = "jobmanager.sh"

    def ready(self) -> bool:
        try:
            return "flink-version" in self.overview()
        except (httpx.HTTPError, ValueError):
            return False

    def detail(self) -> str:
        o = self.overview()
        return (
            f"Flink {o['flink-version']} JobManager (web UI {self.rest}),"
            f" {o['taskmanagers']} TaskManager(s), {o['slots-available']}/{o['slots-total']}"
            f" task slot(s) free, {o['jobs-running']} job(s) running"
        )


class FlinkTaskManager(_FlinkComponent):
    name = "flink-taskmanager"
    port_fields = ()
    script = "taskmanager.sh"

    def ready(self) -> bool:
        try:
            o = self.overview()
        except (httpx.HTTPError, ValueError):
            return False
        return o.get("taskmanagers", 0) >= 1 and o.get("slots-total", 0) >= 1

    def detail(self) -> str:
        o = self.overview()
        return f"{o['slots-total']} task slot(s), {o['slots-available']} free"


class SqlGateway(_FlinkComponent):
    name = "sql-gateway"
    port_fields = ("sql_gateway",)
    script = "sql-gateway.sh"

    def info(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/v1/info", timeout=2).json()

    def ready(self) -> bool:
        try:
            return "version" in self.info()
        except (httpx.HTTPError, ValueError):
            return False

    def statements(self) -> RecordedStatements:
        """The statements backend the control plane uses (composed in cdc_ops.adapters)."""
        from cdc_ops.adapters import Adapters

        backend = Adapters(self.settings).statement_backend
        assert isinstance(backend, RecordedStatements), "env=local composes RecordedStatements"
        return backend

    def after_ready(self) -> None:
        from cdc_ops.filters.files import compile_for

        wanted = {s.name for s in compile_for(self.settings).statements}
        self.statements().restore(wanted)

    def detail(self) -> str:
        statements = self.statements()
        names = statements.names()
        running = sum(statements.status(n).phase == "RUNNING" for n in names)
        version = self.info()["version"]
        return f"Flink SQL Gateway {version}: {running}/{len(names)} statement(s) running"


class RecordedStatements:
    """The gateway backend, remembering what was deployed so `up` can deploy it again after the
    JobManager forgot it. Everything else is the wrapped backend's."""

    def __init__(self, backend: StatementBackend, record: Path) -> None:
        self._backend = backend
        self._record = record
        self.kind = backend.kind

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            return json.loads(self._record.read_text())
        except FileNotFoundError:
            return {}

    def _write(self, data: dict[str, dict[str, Any]]) -> None:
        self._record.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._record.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        tmp.replace(self._record)

    def names(self) -> list[str]:
        return self._backend.names()

    def status(self, name: str) -> StatementState:
        return self._backend.status(name)

    def validate(self, name: str, ddl: list[str], insert: str) -> str | None:
        return self._backend.validate(name, ddl, insert)

    def deploy(self, name: str, ddl: list[str], insert: str) -> StatementState:
        state = self._backend.deploy(name, ddl, insert)
        self._write(self._read() | {name: {"ddl": ddl, "insert": insert}})
        return state

    def stop(self, name: str) -> None:
        self._backend.stop(name)
        self._write({k: v for k, v in self._read().items() if k != name})

    def restore(self, wanted: set[str]) -> list[str]:
        """Deploy again every recorded statement the cluster does not run and filters.yaml still
        has (`wanted`); forget the others. Returns the names deployed."""
        recorded = self._read()
        if set(recorded) - wanted:
            self._write({k: v for k, v in recorded.items() if k in wanted})
        restored = []
        for name, sql in sorted(recorded.items()):
            if name in wanted and self._backend.status(name).phase == ABSENT:
                self._backend.deploy(name, sql["ddl"], sql["insert"])
                restored.append(name)
        return restored
