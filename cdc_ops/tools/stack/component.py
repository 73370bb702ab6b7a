"""What every local-stack component has: a port, a process, a readiness probe, a detail line."""

from __future__ import annotations

import os
import shutil
import signal
from abc import ABC, abstractmethod
from pathlib import Path

from cdc_ops.settings import Settings


class Component(ABC):
    """One supervised process of the local stack."""

    name: str
    stop_signal: int = signal.SIGTERM
    # PostgreSQL and PgBouncer refuse to run as root.
    unprivileged: bool = False

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.host = settings.local.host
        self.state_dir = settings.state_dir

    # the LocalPorts fields it listens on, its main one first; default: the one named after it
    port_fields: tuple[str, ...] | None = None

    @property
    def ports(self) -> dict[str, int]:
        """Setting name -> port, for every port the component listens on."""
        ports = self.settings.local.ports
        fields = self.port_fields
        if fields is None:
            fields = (self.name,) if self.name in type(ports).model_fields else ()
        return {f: getattr(ports, f) for f in fields}

    @property
    def port(self) -> int | None:
        return next(iter(self.ports.values()), None)

    @staticmethod
    def port_setting(field: str) -> str:
        return f"local.ports.{field} (env CDC_OPS_LOCAL__PORTS__{field.upper()})"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}" if self.port else "(no port)"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def home(self) -> Path:
        return self.state_dir / self.name

    @property
    def record_path(self) -> Path:
        return self.state_dir / "run" / f"{self.name}.json"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "logs" / f"{self.name}.log"

    @property
    def run_as(self) -> str | None:
        return self.settings.local.os_user if self.unprivileged and os.geteuid() == 0 else None

    def make_own_dir(self, path: Path, mode: int = 0o700) -> Path:
        """A directory the component's user owns (when the stack runs as root)."""
        path.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            shutil.chown(path, self.run_as, self.run_as)
        path.chmod(mode)
        return path

    def write_own_file(self, path: Path, text: str, mode: int = 0o600) -> None:
        path.write_text(text)
        if self.run_as:
            shutil.chown(path, self.run_as, self.run_as)
        path.chmod(mode)

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """One-time and per-start set-up before the process starts (config files, data dirs)."""

    @abstractmethod
    def argv(self) -> list[str]: ...

    def env(self) -> dict[str, str] | None:
        return None

    @abstractmethod
    def ready(self) -> bool:
        """True once the component answers its protocol (not merely listens)."""

    def after_ready(self) -> None:  # noqa: B027 - optional hook
        """Idempotent provisioning once ready: schema, topics, seeded resources."""

    def detail(self) -> str:
        """One line for `stack status` while the component runs."""
        return ""
