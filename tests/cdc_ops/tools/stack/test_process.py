"""Process records: a recycled PID or a zombie is never taken for a running component."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import pytest

from cdc_ops.errors import StackError
from cdc_ops.tools.stack.process import (
    ProcessRecord,
    is_alive,
    port_accepts,
    port_in_use,
    spawn,
    terminate,
    wait_until,
)


def test_spawn_record_and_terminate(tmp_path: Path) -> None:
    record = spawn("sleeper", ["sleep", "60"], tmp_path / "sleeper.log")
    assert is_alive(record)
    record.save(tmp_path / "sleeper.json")
    assert ProcessRecord.load(tmp_path / "sleeper.json") == record
    assert terminate(record, signal.SIGTERM, timeout_s=5)
    assert not is_alive(record)
    assert not terminate(record)  # already gone: nothing to do, no error


def test_a_recycled_pid_is_not_ours(tmp_path: Path) -> None:
    record = spawn("sleeper", ["sleep", "60"], tmp_path / "sleeper.log")
    try:
        impostor = ProcessRecord("sleeper", record.pid, record.start_ticks + 1, [], 0.0)
        assert not is_alive(impostor)
        assert not terminate(impostor)
        assert is_alive(record)  # terminate() of a stale record leaves the real process alone
    finally:
        terminate(record)


def test_term_ignored_escalates_to_kill(tmp_path: Path) -> None:
    record = spawn("stubborn", ["sh", "-c", "trap '' TERM; sleep 60"], tmp_path / "s.log")
    assert terminate(record, signal.SIGTERM, timeout_s=0.5)
    assert not is_alive(record)


def test_unreadable_record_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(StackError, match="unreadable process record"):
        ProcessRecord.load(path)
    assert ProcessRecord.load(tmp_path / "missing.json") is None


def test_port_checks() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert port_in_use("127.0.0.1", port)
        assert port_accepts("127.0.0.1", port)
    assert not port_in_use("127.0.0.1", port)
    assert not port_accepts("127.0.0.1", port)


def test_wait_until_reports_a_dead_process_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "crash.log"
    record = spawn("crasher", ["sh", "-c", "echo boom: bad config; exit 3"], log)
    with pytest.raises(StackError, match=r"(?s)crasher: the process exited.*boom: bad config"):
        wait_until(
            lambda: False,
            timeout_s=10,
            what="crasher",
            alive=lambda: is_alive(record),
            log_path=log,
        )
