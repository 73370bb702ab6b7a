"""The local CDC connector as a stack component: the embedded Debezium worker process.

It reads its properties from <state_dir>/connector/config.json, which the connector backend
writes when the configuration is applied (the stack writes the default one on first start).
Ready means the worker runs and PostgreSQL shows its replication slot active.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import psycopg

from cdc_ops.connector.config import render
from cdc_ops.tools.stack.component import Component


def write_connector_spec(settings: Any, properties: dict[str, str]) -> bool:
    """Write the worker's config file (0600: it holds the database password). True if changed."""
    home = settings.state_dir / "connector"
    home.mkdir(parents=True, exist_ok=True)
    spec = {
        "properties": properties,
        "bootstrap_servers": settings.kafka.bootstrap_servers,
        "raw_topic": settings.names.raw_topic,
    }
    path = home / "config.json"
    text = json.dumps(spec, indent=2, sort_keys=True)
    if path.exists() and path.read_text() == text:
        return False
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text(text)
    tmp.replace(path)
    return True


class ConnectorComponent(Component):
    name = "connector"

    @property
    def status_path(self) -> Path:
        return self.home / "status.json"

    def worker_status(self) -> dict[str, Any]:
        try:
            return json.loads(self.status_path.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def prepare(self) -> None:
        if not (self.home / "config.json").exists():
            write_connector_spec(self.settings, render(self.settings).config)
        self.status_path.unlink(missing_ok=True)

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "cdc_ops.tools.stack.connector_worker",
            "--state-dir",
            str(self.state_dir),
        ]

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def _slot_active(self) -> bool:
        from cdc_ops.slot.reading import read_slot
        from cdc_ops.tools.stack.postgres import PostgresComponent

        pg = PostgresComponent(self.settings)  # the slot lives on the stack's PostgreSQL
        try:
            with psycopg.connect(
                pg.superuser_conninfo(self.settings.database.name), connect_timeout=2
            ) as conn:
                return bool(read_slot(conn, self.settings.names.replication_slot).active)
        except psycopg.OperationalError:
            return False

    def ready(self) -> bool:
        return self.worker_status().get("state") == "RUNNING" and self._slot_active()

    def detail(self) -> str:
        status = self.worker_status()
        return (
            f"Debezium embedded: {status.get('state', 'unknown')}, "
            f"{status.get('records', 0)} record(s) to {self.settings.names.raw_topic}"
        )
