"""Local Flink statements: one supervised PyFlink job process per filter statement.

Deploying validates the new SQL with Flink's own planner first (EXPLAIN), starts the new job and
waits for it to run, and only then stops the old one: a failed deploy leaves the previous
statement running. Both read the raw topic with the statement's own consumer group, whose offsets
the job commits at each checkpoint, so the replacement carries on from the old position (records
read by both in the overlap are written twice: at least once).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from cdc_ops.flink.statements import ABSENT, RUNNING, StatementError, StatementState
from cdc_ops.settings import Settings
from cdc_ops.tools.stack.process import ProcessRecord, is_alive, spawn, terminate

PROJECT_ROOT = Path(__file__).resolve().parents[3]
JOB_SCRIPT = Path(__file__).resolve().parent / "flink_job.py"


class LocalFlinkStatements:
    kind = "local"

    def __init__(
        self, settings: Settings, python: Path | None = None, start_timeout_s: float = 120
    ) -> None:
        self._root = settings.state_dir / "flink"
        self._python = python or PROJECT_ROOT / ".venv-flink" / "bin" / "python"
        self._timeout = start_timeout_s

    def _dir(self, name: str) -> Path:
        return self._root / name

    def _record(self, name: str) -> ProcessRecord | None:
        return ProcessRecord.load(self._dir(name) / "process.json")

    def _check_python(self) -> None:
        if not self._python.exists():
            raise StatementError(
                f"{self._python} not found: PyFlink is installed by scripts/setup.sh (make setup)"
            )

    def names(self) -> list[str]:
        if not self._root.exists():
            return []
        return sorted(p.parent.name for p in self._root.glob("*/process.json"))

    def status(self, name: str) -> StatementState:
        record = self._record(name)
        sql = ""
        deployed = self._dir(name) / "deployed.json"
        if deployed.exists():
            sql = json.loads(deployed.read_text())["insert"]
        if record is None:
            return StatementState(name, ABSENT, sql=sql)
        try:
            status = json.loads((self._dir(name) / "status.json").read_text())
        except (FileNotFoundError, ValueError):
            status = {}
        if not is_alive(record):
            detail = f"job process {record.pid} exited; see {self._dir(name) / 'job.log'}"
            return StatementState(name, "FAILED", detail, sql)
        detail = f"job {status.get('job_id', '?')}, pid {record.pid}"
        return StatementState(name, status.get("state", "PENDING"), detail, sql)

    def validate(self, name: str, ddl: list[str], insert: str) -> str | None:
        """Flink's planner on the statement (no job is started): None, or the error."""
        self._check_python()
        work = self._dir(name)
        work.mkdir(parents=True, exist_ok=True)
        spec = work / "validate.json"
        spec.write_text(
            json.dumps(
                {"name": name, "ddl": ddl, "insert": insert, "regexes": regex_literals(insert)}
            )
        )
        out = subprocess.run(
            [
                str(self._python),
                str(JOB_SCRIPT),
                "--spec",
                str(spec),
                "--work-dir",
                str(work),
                "--explain",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if out.returncode != 0 or not lines:
            return f"validation did not run: {(out.stderr or out.stdout).strip()[-1000:]}"
        answer = json.loads(lines[-1])
        return None if answer["valid"] else answer["error"]

    def deploy(self, name: str, ddl: list[str], insert: str) -> StatementState:
        """Start the statement's new job; stop the old one once the new one runs."""
        self._check_python()
        error = self.validate(name, ddl, insert)
        if error:
            raise StatementError(f"{name}: Flink rejected the statement: {error}")
        work = self._dir(name)
        generation = int(time.time() * 1000)
        spec = work / f"spec-{generation}.json"
        spec.write_text(json.dumps({"name": name, "ddl": ddl, "insert": insert}))
        status_file = work / f"status-{generation}.json"
        old = self._record(name)
        record = spawn(
            name,
            [
                str(self._python),
                str(JOB_SCRIPT),
                "--spec",
                str(spec),
                "--work-dir",
                str(work),
                "--status",
                str(status_file),
            ],
            work / "job.log",
        )
        deadline = time.monotonic() + self._timeout
        while True:
            state = _read(status_file).get("state")
            if state == RUNNING:
                break
            if (
                not is_alive(record)
                or state in ("FAILED", "CANCELED")
                or time.monotonic() > deadline
            ):
                terminate(record)
                raise StatementError(
                    f"{name}: the new job did not reach RUNNING ({state}); the previous one"
                    f" keeps running; see {work / 'job.log'}"
                )
            time.sleep(0.5)
        if old is not None:
            terminate(old)
        record.save(work / "process.json")
        (work / "status.json").unlink(missing_ok=True)
        (work / "status.json").symlink_to(status_file.name)
        (work / "deployed.json").write_text(json.dumps({"insert": insert, "ddl": ddl}))
        return self.status(name)

    def stop(self, name: str) -> None:
        record = self._record(name)
        if record is not None:
            terminate(record)
            (self._dir(name) / "process.json").unlink(missing_ok=True)

    def stop_all(self) -> list[str]:
        names = self.names()
        for name in names:
            self.stop(name)
        return names


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


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
