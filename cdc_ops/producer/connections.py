"""The producer API's database connections: one small pool per Lambda container.

Credentials are resolved per new connection: the configured password; the password in a Secrets
Manager secret (`database.password_secret_arn`, the secret RDS manages and RDS Proxy reads), read
again after `database.password_reuse_s` or as soon as a login is refused (the secret rotates); or
for Aurora DSQL an IAM auth token that is reused for `dsql.token_reuse_s` (14 min) and replaced
before it expires.
A failure that means "the database is not there" (refused, timed out, shutting down, starting up)
becomes DatabaseUnavailable; anything else (a bad password, a SQL error) stays what it is.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from cdc_ops.clients.database_secret import password_keys, secret_password
from cdc_ops.errors import DatabaseUnavailable
from cdc_ops.settings import Settings

Credentials = Callable[[], dict[str, Any]]

CHECK_AFTER_IDLE_S = 1.0

# SQLSTATEs that mean the server is going away or not ready yet.
_UNAVAILABLE_STATES = {"57P01", "57P02", "57P03"}
# libpq reports connection failures without a SQLSTATE; these answers from the server (or the
# proxy) mean it is there and refuses us - a configuration problem, not a stopped database.
_REFUSALS = (
    "authentication failed",
    "does not exist",
    "no pg_hba.conf entry",
    "permission denied",
)


def is_unavailable(exc: BaseException) -> bool:
    """True for failures that a stopped or starting database produces."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, psycopg.OperationalError):
        state = exc.sqlstate
        if state is None:
            return not any(refusal in str(exc) for refusal in _REFUSALS)
        return state.startswith("08") or state in _UNAVAILABLE_STATES
    return False


class ReusedPassword:
    """A password fetched at most once per reuse window, and again after a refused login.

    Serves the DSQL IAM tokens (which expire) and the Secrets Manager password (which rotates).
    """

    def __init__(
        self,
        generate: Callable[[], str],
        reuse_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._generate = generate
        self._reuse_s = reuse_s
        self._clock = clock
        self._token: str | None = None
        self._issued_at = 0.0

    def __call__(self) -> dict[str, Any]:
        now = self._clock()
        if self._token is None or now - self._issued_at >= self._reuse_s:
            self._token = self._generate()
            self._issued_at = now
        return {"password": self._token}

    def forget(self) -> None:
        """The server refused it: fetch a fresh one for the next connection."""
        self._token = None


def dsql_token_generator(settings: Settings) -> Callable[[], str]:
    from cdc_ops.clients.aws import client  # boto3 is imported only when a token is needed

    dsql = settings.dsql
    region = dsql.region or settings.aws.region
    signer = client("dsql", settings)
    generate = (
        signer.generate_db_connect_admin_auth_token
        if dsql.user == "admin"
        else signer.generate_db_connect_auth_token
    )
    return lambda: generate(Hostname=dsql.host, Region=region, ExpiresIn=dsql.token_ttl_s)


@contextmanager
def deadline(conn: psycopg.Connection, seconds: float) -> Iterator[threading.Event]:
    """Bound a database operation in time. A proxy (RDS Proxy, PgBouncer) accepts the login of a
    client even while the database is down and then holds its queries until a server connection
    can be borrowed - 120 s by default. When the deadline passes, the query is cancelled and the
    socket shut, so the blocked call returns; the event tells the caller why it failed."""
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        with contextlib.suppress(Exception):
            conn.cancel_safe(timeout=1.0)
        with contextlib.suppress(OSError):
            sock = socket.socket(fileno=os.dup(conn.pgconn.socket))
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield expired
    finally:
        timer.cancel()


class PooledDatabase:
    """A lazily opened psycopg pool whose failures are classified for the API."""

    def __init__(
        self,
        conninfo: str,
        credentials: Credentials,
        *,
        max_size: int,
        timeout_s: float,
        query_timeout_s: float,
        name: str,
    ) -> None:
        self._timeout_s = timeout_s
        self._query_timeout_s = query_timeout_s
        # the pool connects on its own threads; the last failure tells a refused password
        # (an operator's problem) from a database that is not there (start it)
        self.last_connect_error: psycopg.Error | None = None
        owner = self

        class RecordingConnection(psycopg.Connection):
            last_used = 0.0  # monotonic time it was last given back to the pool

            @classmethod
            def connect(cls, *args: Any, **kw: Any) -> RecordingConnection:  # type: ignore[override]
                try:
                    conn = super().connect(*args, **kw)
                except psycopg.Error as exc:
                    owner.last_connect_error = exc
                    forget = getattr(credentials, "forget", None)
                    if forget is not None and not is_unavailable(exc):
                        forget()  # a refused password may have been rotated meanwhile
                    raise
                owner.last_connect_error = None
                return conn

        def kwargs() -> dict[str, Any]:
            # no server-side prepared statements: PgBouncer (transaction pooling) and RDS Proxy
            # (session pinning) both suffer from them
            return {**credentials(), "prepare_threshold": None}

        self._pool = ConnectionPool(
            conninfo,
            connection_class=RecordingConnection,
            kwargs=kwargs,
            min_size=0,
            max_size=max_size,
            open=False,
            timeout=timeout_s,
            # a pooled connection may be dead after the database restarted: check on checkout
            check=self._check,
            name=name,
        )

    def _check(self, conn: psycopg.Connection) -> None:
        # A connection used a moment ago is alive; only one that sat idle (the database may
        # have stopped or restarted meanwhile) costs a round trip to check.
        if time.monotonic() - getattr(conn, "last_used", 0.0) < CHECK_AFTER_IDLE_S:
            return
        with deadline(conn, self._timeout_s):
            ConnectionPool.check_connection(conn)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        if self._pool.closed:
            self._pool.open(wait=False)
        expired = None
        try:
            with self._pool.connection() as conn:
                with deadline(conn, self._query_timeout_s) as expired:
                    yield conn
                conn.last_used = time.monotonic()
        except PoolTimeout as exc:  # (a psycopg.OperationalError itself)
            cause = self.last_connect_error
            if cause is not None and not is_unavailable(cause):
                raise cause from exc
            raise DatabaseUnavailable(f"database did not answer: {cause or exc}") from exc
        except psycopg.Error as exc:
            if expired is not None and expired.is_set():
                raise DatabaseUnavailable(
                    f"database did not answer within {self._query_timeout_s:g}s"
                ) from exc
            if is_unavailable(exc):
                raise DatabaseUnavailable(f"database did not answer: {exc}") from exc
            raise

    def stats(self) -> dict[str, int]:
        return self._pool.get_stats()

    def close(self) -> None:
        self._pool.close()


def password_credentials(settings: Settings) -> Credentials:
    """The database password per new connection: from its secret (re-read after
    `database.password_reuse_s` or a refused login), else the configured one."""
    db = settings.database
    if db.password_secret_arn:
        return ReusedPassword(secret_password(settings), db.password_reuse_s)
    password = db.password.get_secret_value() if db.password else None
    return lambda: {"password": password}


def postgres_database(settings: Settings) -> PooledDatabase:
    """Aurora PostgreSQL through its proxy endpoint (PgBouncer locally)."""
    settings.require("database.proxy_host", *password_keys(settings))
    db, api = settings.database, settings.producer_api
    conninfo = make_conninfo(
        host=db.proxy_host,
        port=db.proxy_port,
        dbname=db.name,
        user=db.user,
        connect_timeout=db.connect_timeout_s,
        application_name="producer-api-pg",
    )
    return PooledDatabase(
        conninfo,
        password_credentials(settings),
        max_size=api.pool_max_size,
        timeout_s=api.pool_timeout_s,
        query_timeout_s=api.query_timeout_s,
        name="producer-api-pg",
    )


def dsql_database(settings: Settings) -> PooledDatabase:
    """Aurora DSQL with IAM tokens (aws), or the local PostgreSQL with a password (local)."""
    dsql, api, db = settings.dsql, settings.producer_api, settings.database
    if not dsql.host:
        raise DatabaseUnavailable("dsql.host is not set (env CDC_OPS_DSQL__HOST)")
    conninfo = make_conninfo(
        host=dsql.host,
        port=dsql.port,
        dbname=dsql.database,
        user=dsql.user,
        connect_timeout=db.connect_timeout_s,
        sslmode=dsql.sslmode,
        application_name="producer-api-dsql",
    )
    credentials = (
        ReusedPassword(dsql_token_generator(settings), dsql.token_reuse_s)
        if dsql.auth == "iam"
        else password_credentials(settings)
    )
    return PooledDatabase(
        conninfo,
        credentials,
        max_size=api.pool_max_size,
        timeout_s=api.pool_timeout_s,
        query_timeout_s=api.query_timeout_s,
        name="producer-api-dsql",
    )
