"""PgBouncer in front of the local PostgreSQL: it stands for RDS Proxy.

Its admin console (`SHOW POOLS`: cl_waiting, maxwait, maxwait_us) is the local signal for clients
waiting to borrow a connection, the counterpart of DatabaseConnectionsBorrowLatency.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import psycopg

from cdc_ops.errors import StackError
from cdc_ops.tools.stack.component import Component

ADMIN_DB = "pgbouncer"


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


class PgBouncerComponent(Component):
    name = "pgbouncer"
    unprivileged = True

    @property
    def ini_path(self) -> Path:
        return self.home / "pgbouncer.ini"

    def prepare(self) -> None:
        binary = self.settings.local.pgbouncer_bin
        if not binary.exists() and not shutil.which(str(binary)):
            raise StackError(
                f"pgbouncer: {binary} not found; install it (apt-get install pgbouncer)"
                " or set local.pgbouncer_bin"
            )
        local, db = self.settings.local, self.settings.database
        password = db.password.get_secret_value() if db.password else ""
        self.make_own_dir(self.home)
        self.write_own_file(self.home / "userlist.txt", f"{_quote(db.user)} {_quote(password)}\n")
        self.write_own_file(
            self.ini_path,
            "\n".join(
                [
                    "; written by cdc-ops stack up; edits are overwritten",
                    "[databases]",
                    f"{db.name} = host={self.host} port={local.ports.postgres} dbname={db.name}",
                    "",
                    "[pgbouncer]",
                    f"listen_addr = {self.host}",
                    f"listen_port = {self.port}",
                    "unix_socket_dir =",
                    "auth_type = scram-sha-256",
                    f"auth_file = {self.home / 'userlist.txt'}",
                    f"admin_users = {db.user}",
                    f"stats_users = {db.user}",
                    "pool_mode = transaction",
                    f"default_pool_size = {local.pgbouncer_pool_size}",
                    f"max_client_conn = {local.pgbouncer_max_client_conn}",
                    "ignore_startup_parameters = extra_float_digits,options",
                    "server_connect_timeout = 5",
                    # RDS Proxy's ConnectionBorrowTimeout from the seeds: clients wait this long
                    "query_wait_timeout = 120",
                    # after the database comes back, let logins through again soon (default 15 s)
                    "server_login_retry = 2",
                    "",
                ]
            ),
        )

    def argv(self) -> list[str]:
        return [str(self.settings.local.pgbouncer_bin), str(self.ini_path)]

    def env(self) -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}

    def admin_conninfo(self) -> str:
        db = self.settings.database
        return psycopg.conninfo.make_conninfo(
            host=self.host,
            port=self.port,
            dbname=ADMIN_DB,
            user=db.user,
            password=db.password.get_secret_value() if db.password else None,
            connect_timeout=2,
        )

    def show(self, what: str) -> list[dict[str, object]]:
        """Run a SHOW command on the admin console (simple query protocol only)."""
        with psycopg.connect(self.admin_conninfo(), autocommit=True) as conn:
            cur = psycopg.ClientCursor(conn)
            cur.execute(f"SHOW {what}")
            names = [c.name for c in cur.description or []]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def ready(self) -> bool:
        try:
            self.show("VERSION")
            return True
        except psycopg.OperationalError:
            return False

    def detail(self) -> str:
        pools = [p for p in self.show("POOLS") if p["database"] == self.settings.database.name]
        if not pools:
            return f"pool size {self.settings.local.pgbouncer_pool_size}, no clients yet"
        p = pools[0]
        return (
            f"pool size {self.settings.local.pgbouncer_pool_size}: cl_active={p['cl_active']}"
            f" cl_waiting={p['cl_waiting']} sv_active={p['sv_active']} maxwait={p['maxwait']}s"
        )
