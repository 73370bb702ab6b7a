"""Small test doubles shared by several test modules."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CLI = str(ROOT / ".venv" / "bin" / "cdc-ops")


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`cdc-ops ARGS` as a user runs it: its own process, this environment unless `env`."""
    return subprocess.run(
        [CLI, *args], capture_output=True, text=True, timeout=timeout, env=env or os.environ.copy()
    )


class Recorder:
    """An alert destination that keeps what it was sent."""

    name = "recorder"

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def send(self, body: dict[str, Any]) -> None:
        self.bodies.append(body)


def start_api_server(state_dir: Path, port: int) -> tuple[subprocess.Popen, str]:
    """`cdc-ops api serve` on a port, with this process's CDC_OPS_* environment; returns once
    it answers HTTP (or fails with its log)."""
    log = state_dir / "logs" / f"api-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/cdc-ops"), "api", "serve", "--port", str(port)],
            env=os.environ.copy(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/cars?limit=1", timeout=5)
            return proc, url
        except httpx.HTTPError:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
