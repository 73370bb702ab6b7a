"""Supervised processes of the local stack: start detached, record by PID, check, stop.

A record holds the PID and the kernel's start time of that PID, so a recycled PID is never taken
for ours and ``down`` stops exactly the processes ``up`` started.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from cdc_ops.errors import StackError


@dataclass(frozen=True)
class ProcessRecord:
    name: str
    pid: int
    start_ticks: int
    argv: list[str]
    started_at: float

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ProcessRecord | None:
        try:
            return cls(**json.loads(path.read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            raise StackError(f"{path}: unreadable process record ({exc}); remove it") from exc


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) of a PID, or None if there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # the command name may contain spaces and parentheses: split after the last ')'
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[19])


def start_ticks(pid: int) -> int:
    stat = _proc_stat(pid)
    if stat is None:
        raise StackError(f"process {pid} exited straight after it was started")
    return stat[1]


def is_alive(record: ProcessRecord) -> bool:
    stat = _proc_stat(record.pid)
    if stat is None:
        return False
    state, ticks = stat
    return ticks == record.start_ticks and state not in ("Z", "X")


# Children started by this process, kept so an exited one can be reaped instead of lingering as a
# zombie (a long-lived caller such as `cdc-ops dev` or the tests). A CLI that exits leaves its
# children to init.
_children: dict[int, subprocess.Popen[bytes]] = {}


def live_group_members(pgid: int) -> list[int]:
    """PIDs in a process group that have not exited (zombies left to init do not count)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def reap(pid: int) -> None:
    """Collect an exited child of ours so it does not linger as a zombie."""
    proc = _children.get(pid)
    if proc is not None and proc.poll() is not None:
        del _children[pid]


def spawn(
    name: str,
    argv: Sequence[str],
    log_path: Path,
    *,
    user: str | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> ProcessRecord:
    """Start a process in its own session (a Ctrl-C in the terminal does not reach it)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=user,
                env=env,
                cwd=cwd,
            )
        except OSError as exc:
            raise StackError(f"{name}: cannot start {argv[0]}: {exc.strerror}") from exc
    _children[proc.pid] = proc
    return ProcessRecord(name, proc.pid, start_ticks(proc.pid), list(argv), time.time())


def terminate(record: ProcessRecord, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> bool:
    """Stop the recorded process; escalate to SIGKILL after the timeout. True if it was running."""
    if not is_alive(record):
        reap(record.pid)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, sig)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        reap(record.pid)
        if not is_alive(record):
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, signal.SIGKILL)
    while is_alive(record):
        reap(record.pid)
        time.sleep(0.05)
    return True


def port_in_use(host: str, port: int) -> bool:
    """True when something listens on host:port (binding fails with EADDRINUSE)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def port_accepts(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when a TCP connection to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def wait_until(
    check: Callable[[], bool],
    *,
    timeout_s: float,
    what: str,
    alive: Callable[[], bool] | None = None,
    log_path: Path | None = None,
) -> None:
    """Poll ``check`` until it is true; fail early, with the log's tail, if the process died."""
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    while True:
        if check():
            return
        if alive is not None and not alive():
            raise StackError(f"{what}: the process exited during start-up{_log_tail(log_path)}")
        if time.monotonic() >= deadline:
            raise StackError(f"{what}: not ready after {timeout_s:.0f}s{_log_tail(log_path)}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


def _log_tail(log_path: Path | None, lines: int = 8) -> str:
    if log_path is None or not log_path.exists():
        return ""
    tail = log_path.read_text(errors="replace").splitlines()[-lines:]
    return f"\n  last lines of {log_path}:\n    " + "\n    ".join(tail)
