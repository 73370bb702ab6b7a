"""The local PostgreSQL 15 that stands for Aurora: logical WAL, the schema, a publication."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from cdc_ops.errors import StackError
from cdc_ops.producer.schema import apply_schema
from cdc_ops.tools.stack.component import Component

SUPERUSER = "postgres"


class PostgresComponent(Component):
    name = "postgres"
    # SIGINT is PostgreSQL's "fast" shutdown: roll back sessions, checkpoint, exit.
    stop_signal = signal.SIGINT
    unprivileged = True

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def socket_dir(self) -> Path:
        return self.home / "run"

    def _bin(self, tool: str) -> str:
        path = self.settings.local.postgres_bin_dir / tool
        if not path.exists():
            raise StackError(
                f"postgres: {path} not found; install PostgreSQL 15 (apt-get install postgresql-15)"
                " or set local.postgres_bin_dir"
            )
        return str(path)

    def _check_reachable(self) -> None:
        """The unprivileged user must be able to walk down to the state directory."""
        if not self.run_as:
            return
        probe = subprocess.run(
            ["test", "-x", str(self.state_dir)], user=self.run_as, capture_output=True
        )
        if probe.returncode != 0:
            raise StackError(
                f"postgres: user {self.run_as!r} cannot reach {self.state_dir}; a parent directory"
                " is not world-searchable (chmod o+x) - or choose another local.state_dir"
            )

    def prepare(self) -> None:
        self._check_reachable()
        self.make_own_dir(self.home)
        self.make_own_dir(self.socket_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            result = subprocess.run(
                [
                    self._bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                user=self.run_as,
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise StackError(f"postgres: initdb failed:\n{result.stderr.strip()}")
            with open(self.data_dir / "postgresql.conf", "a") as conf:
                conf.write("\ninclude_if_exists = 'cdc_ops.conf'\n")
        # Rewritten on every start so changed ports take effect on an existing cluster.
        self.write_own_file(
            self.data_dir / "cdc_ops.conf",
            "\n".join(
                [
                    "# written by cdc-ops stack up; edits are overwritten",
                    f"listen_addresses = '{self.host}'",
                    f"port = {self.port}",
                    f"unix_socket_directories = '{self.socket_dir}'",
                    "wal_level = logical",
                    "max_replication_slots = 10",
                    "max_wal_senders = 10",
                    "shared_buffers = 64MB",
                    "max_connections = 100",
                    "fsync = on",
                    "",
                ]
            ),
        )

    def argv(self) -> list[str]:
        return [self._bin("postgres"), "-D", str(self.data_dir)]

    def superuser_conninfo(self, dbname: str = "postgres") -> str:
        return f"host={self.socket_dir} port={self.port} user={SUPERUSER} dbname={dbname}"

    def ready(self) -> bool:
        try:
            with psycopg.connect(self.superuser_conninfo(), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False

    def after_ready(self) -> None:
        db = self.settings.database
        password = db.password.get_secret_value() if db.password else None
        with psycopg.connect(self.superuser_conninfo(), autocommit=True) as conn:
            role = sql.Identifier(db.user)
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (db.user,)).fetchone():
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN REPLICATION").format(role))
            # Literal, not a bind parameter: utility statements take no parameters.
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(role, sql.Literal(password)))
            if not conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (db.name,)
            ).fetchone():
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db.name), role)
                )
        # The schema is owned by the application role, so it may publish its own tables.
        owner_conninfo = f"host={self.socket_dir} port={self.port} user={db.user} dbname={db.name}"
        with psycopg.connect(owner_conninfo, autocommit=True) as conn:
            apply_schema(conn, self.settings.names)

    def detail(self) -> str:
        with psycopg.connect(self.superuser_conninfo(self.settings.database.name)) as conn:
            version, wal_level, slots = conn.execute(
                "SELECT current_setting('server_version'), current_setting('wal_level'),"
                " (SELECT count(*) FROM pg_replication_slots)"
            ).fetchone()
        db = self.settings.database.name
        return f"PostgreSQL {version}, wal_level={wal_level}, db {db}, {slots} slot(s)"

    def env(self) -> dict[str, str]:
        # The server inherits nothing from the caller beyond a sane locale and path.
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
