"""A throw-away stack on free ports in a temporary directory (tests and benchmarks)."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path


def free_ports(count: int) -> list[int]:
    """Ports the OS says are free now (held open together so they are distinct)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def scratch_state_dir(prefix: str) -> Path:
    # World-searchable: PostgreSQL and PgBouncer run as an unprivileged user when we are root,
    # and pytest's own tmp_path is mode 0700.
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def scratch_env(state_dir: Path) -> dict[str, str]:
    """CDC_OPS_* variables for a local stack in state_dir, every port a free one."""
    from cdc_ops.settings import LocalPorts

    fields = list(LocalPorts.model_fields)
    env = {"CDC_OPS_ENV": "local", "CDC_OPS_LOCAL__STATE_DIR": str(state_dir)}
    for field, port in zip(fields, free_ports(len(fields)), strict=True):
        env[f"CDC_OPS_LOCAL__PORTS__{field.upper()}"] = str(port)
    return env
