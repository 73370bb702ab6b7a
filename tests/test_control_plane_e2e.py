"""`cdc-ops control-plane webserver|daemon` as the ECS services run them: two processes, one
PostgreSQL run storage. The webserver sees the daemon's heartbeats only through that storage."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from cdc_ops.tools.devserver import control_plane_command
from cdc_ops.tools.stack import Stack
from cdc_ops.tools.stack.scratch import free_ports, scratch_state_dir
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

DAEMONS = "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy } } } }"


def _storage_url(stack: Stack, database: str) -> str:
    settings = stack.settings
    with psycopg.connect(stack.component("postgres").superuser_conninfo(), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
        c.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(database), sql.Identifier(settings.database.user)
            )
        )
    password = settings.database.password.get_secret_value()
    return (
        f"postgresql://{settings.database.user}:{password}"
        f"@127.0.0.1:{settings.local.ports.postgres}/{database}"
    )


def _start(role: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "cdc-ops"), "control-plane", role],
            cwd="/",
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def test_command_per_role(local_stack: Stack) -> None:
    settings = local_stack.settings
    web = control_plane_command(settings, "webserver")
    assert Path(web[0]).name == "dagster-webserver"
    assert web[-4:] == ["-h", settings.dagster.host, "-p", str(settings.dagster.port)]
    assert Path(control_plane_command(settings, "daemon")[0]).name == "dagster-daemon"
    with pytest.raises(ValueError, match="webserver, daemon"):
        control_plane_command(settings, "scheduler")


def test_webserver_and_daemon_share_postgres_storage(local_stack: Stack) -> None:
    (port,) = free_ports(1)
    home = scratch_state_dir("cdc-ops-test-cp-home-")
    env = {
        **os.environ,
        "CDC_OPS_DAGSTER__PORT": str(port),
        "CDC_OPS_DAGSTER__HOME": str(home),
        "CDC_OPS_DAGSTER__POSTGRES_STORAGE_URL": _storage_url(local_stack, "dagster_cp"),
    }
    logs = local_stack.settings.state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    web = _start("webserver", env, logs / "cp-webserver.log")
    daemon = _start("daemon", env, logs / "cp-daemon.log")
    try:
        deadline, healthy, answer = time.monotonic() + 120, set(), None
        while time.monotonic() < deadline and "SCHEDULER" not in healthy:
            assert web.poll() is None, (logs / "cp-webserver.log").read_text()[-3000:]
            assert daemon.poll() is None, (logs / "cp-daemon.log").read_text()[-3000:]
            try:
                answer = httpx.post(
                    f"http://127.0.0.1:{port}/graphql", json={"query": DAEMONS}, timeout=5
                ).json()
                statuses = answer["data"]["instance"]["daemonHealth"]["allDaemonStatuses"]
                healthy = {s["daemonType"] for s in statuses if s["healthy"]}
            except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
                answer = answer or repr(exc)
            time.sleep(1)
        assert {"SCHEDULER", "SENSOR"} <= healthy, (
            f"{answer}\n{(logs / 'cp-daemon.log').read_text()[-2000:]}"
        )
        # exec, not a child: the container's SIGTERM reaches Dagster itself
        assert b"dagster-webserver" in Path(f"/proc/{web.pid}/cmdline").read_bytes()
        assert b"dagster-daemon" in Path(f"/proc/{daemon.pid}/cmdline").read_bytes()
        # the URL (with its password) is read from the environment, never written to disk
        written = (home / "dagster.yaml").read_text()
        assert "postgres_url" in written and "cdc-ops-local" not in written
    finally:
        for proc in (web, daemon):
            os.kill(proc.pid, signal.SIGTERM)
        codes = [proc.wait(timeout=60) for proc in (web, daemon)]
    assert all(code in (0, -signal.SIGTERM) for code in codes), codes
