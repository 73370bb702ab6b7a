"""`cdc-ops dev`: the local stack plus `dagster dev`, stopped cleanly by Ctrl-C or SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import yaml

from cdc_ops.adapters import Adapters
from cdc_ops.errors import PortInUseError
from cdc_ops.settings import Settings
from cdc_ops.tools.stack.process import live_group_members, port_in_use

#: The repository root: workspace.yaml and definitions.py live there.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def dagster_storage_url(url: str) -> str:
    """dagster-postgres needs the psycopg2 driver: with SQLAlchemy's default for a bare
    postgresql:// URL (psycopg 3) its `NOTIFY run_events, %(id)s` fails and the daemon's
    heartbeats are never stored."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg2://" + url[len(scheme) :]
    return url


def write_dagster_yaml(settings: Settings) -> Path:
    """DAGSTER_HOME with telemetry off; SQLite storage unless PostgreSQL storage is configured."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config: dict[str, object] = {"telemetry": {"enabled": False}}
    if settings.dagster.postgres_storage_url:
        # Read from the environment at run time so the URL (with its password) is not on disk.
        os.environ["CDC_OPS_DAGSTER_STORAGE_URL"] = dagster_storage_url(
            settings.dagster.postgres_storage_url.get_secret_value()
        )
        config["storage"] = {"postgres": {"postgres_url": {"env": "CDC_OPS_DAGSTER_STORAGE_URL"}}}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return home


def dagster_dev_command(settings: Settings) -> list[str]:
    dagster = Path(sys.executable).parent / "dagster"
    return [
        str(dagster),
        "dev",
        "-w",
        str(PROJECT_ROOT / "workspace.yaml"),
        "-h",
        settings.dagster.host,
        "-p",
        str(settings.dagster.port),
    ]


CONTROL_PLANE_ROLES = ("webserver", "daemon")


def control_plane_command(settings: Settings, role: str) -> list[str]:
    """One long-running Dagster process of the deployed control plane (one ECS service each)."""
    bin_dir = Path(sys.executable).parent
    workspace = str(PROJECT_ROOT / "workspace.yaml")
    if role == "webserver":
        return [
            str(bin_dir / "dagster-webserver"),
            "-w",
            workspace,
            "-h",
            settings.dagster.host,
            "-p",
            str(settings.dagster.port),
        ]
    if role == "daemon":
        return [str(bin_dir / "dagster-daemon"), "run", "-w", workspace]
    roles = ", ".join(CONTROL_PLANE_ROLES)
    raise ValueError(f"control-plane role must be one of {roles}: {role!r}")


def run_control_plane(settings: Settings, role: str) -> None:
    """Writes DAGSTER_HOME (PostgreSQL storage when configured), then becomes the Dagster process,
    so that it is PID 1 of its container and gets the container's SIGTERM itself."""
    command = control_plane_command(settings, role)
    home = write_dagster_yaml(settings)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    os.chdir(PROJECT_ROOT)
    sys.stdout.flush()
    os.execve(command[0], command, env)


def run_dev(adapters: Adapters, *, start_stack: bool = True, config_file: str | None = None) -> int:
    settings = adapters.settings
    ui = settings.dagster
    if port_in_use(ui.host, ui.port):
        raise PortInUseError(
            f"dagster: port {ui.port} on {ui.host} is in use; stop what holds it or set"
            " dagster.port (env CDC_OPS_DAGSTER__PORT)"
        )
    stack = adapters.stack
    started: list[str] = []
    if start_stack:
        results = stack.up(progress=lambda m: print(m, flush=True))
        started = [r.component for r in results if r.action != "already running"]
        if "postgres" in started:
            # a start like any other: the hourly auto-stop gives it the full inactivity window
            adapters.cluster_controller.record("start", "local stack started by cdc-ops dev")
    home = write_dagster_yaml(settings)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    if config_file:
        env["CDC_OPS_CONFIG"] = str(Path(config_file).resolve())
    print(f"Dagster UI: http://{ui.host}:{ui.port}  (Ctrl-C stops it)", flush=True)
    stopping = False
    dagster: subprocess.Popen[bytes] | None = None

    def _stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        if dagster is None:
            raise KeyboardInterrupt
        if stopping:
            # a second Ctrl-C: no more waiting
            with contextlib.suppress(ProcessLookupError):
                os.killpg(dagster.pid, signal.SIGKILL)
            return
        stopping = True
        # dagster dev turns SIGTERM into its own orderly shutdown of the webserver, daemon and
        # code servers; signalling those directly as well would race that shutdown.
        with contextlib.suppress(ProcessLookupError):
            os.kill(dagster.pid, signal.SIGTERM)

    # Installed before the child starts: an ignored SIGINT (as in a backgrounded shell job) would
    # otherwise be inherited by dagster dev, which maps SIGTERM to its SIGINT handling.
    previous = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        dagster = subprocess.Popen(
            dagster_dev_command(settings), cwd=PROJECT_ROOT, env=env, start_new_session=True
        )
        while dagster.poll() is None:
            time.sleep(0.2)
        if stopping:
            # the group leader is gone; make sure no straggler outlives it
            _wait_group_gone(dagster.pid, timeout_s=20)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if started:
            print(f"stopping what `dev` started: {', '.join(started)}", flush=True)
            stack.down(started, progress=lambda m: print(m, flush=True))
    if stopping:
        return 0
    return dagster.returncode if dagster is not None else 130


def _wait_group_gone(pgid: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while live_group_members(pgid):
        if time.monotonic() >= deadline:
            for pid in live_group_members(pgid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.2)
