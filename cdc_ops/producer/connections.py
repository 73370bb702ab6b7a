"""The producer API's database connections: one small pool per Lambda container.

Credentials are resolved per new connection: the configured password; the password in a Secrets
Manager secret (`database.password_secret_arn`, the secret RDS manages and RDS Proxy reads), read
again after `database.password_reuse_s` or as soon as a login is refused (the secret rotates); or
for Aurora DSQL an IAM auth token that is reused for `dsql.token_reuse_s` (14 min) and replaced
before it expires.
A failure that means "the database is not there" (refused, timed out, shutting down, starting up)
becomes DatabaseUnavailable; anything else (a bad password, a SQL error) stays what it is.

A database that dies under traffic (killed, crashed, failed over) reaches a pooled connection as
whatever libpq makes of the last words of the server or of the proxy in front of it: a FATAL
error, PgBouncer's "server conn crashed?" or "server login has been failing", EOF, or - a FATAL
error followed by EOF - two results for one command, psycopg's InternalError "received 2 results
from command 'BEGIN'" (or 'COMMIT'). Whatever the error, if the connection is broken afterwards, or
psycopg met a protocol surprise of its own (an InternalError without SQLSTATE), the connection was
lost: ConnectionLost, a DatabaseUnavailable (a 503), and that connection is closed, never given out
again. Each checkout first looks, without a round trip, whether anything arrived on the idle
connection (a FATAL, EOF); if so, or if it sat idle for CHECK_AFTER_IDLE_S, or if another
connection was lost since it was last used, a round trip checks it first.

What is retried: only what fails before the request's statement is sent. A connection that fails
its checkout check is replaced by the pool (another pooled one, then a new one, within
`producer_api.pool_timeout_s`): nothing was sent, so that is always safe, and it is how a
connection left stale by a restart is retried on a fresh one. Nothing is retried once the
statement is sent. ProducerRepository runs each write as one statement in autocommit - there is
no BEGIN - and such a statement commits as it completes: a loss while it runs may have committed
it, and must not be repeated blindly. (Inside an explicit transaction a loss at BEGIN, or before
COMMIT was sent, could not have committed; it is still not retried: the database failed under this
very request, a retry would meet the same outage, and the 503 says when to come back.) The client's
own retry is safe: an identical event is a replay (200) and writes nothing.

Deadlines: a proxy accepts logins while the database is down and then holds queries (see
`deadline`). One watchdog thread per process (a Lambda container) sleeps until the earliest armed
deadline; arming and disarming is a lock and a heap push, not a thread per query.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import math
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.pq import ConnStatus, TransactionStatus
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
# the same refusals with a SQLSTATE: invalid authorization, no such database, no privilege
_REFUSED_CLASSES = ("28", "3D")


def _refused(exc: psycopg.Error) -> bool:
    state = exc.sqlstate
    if state is None:
        return any(refusal in str(exc) for refusal in _REFUSALS)
    return state[:2] in _REFUSED_CLASSES or state == "42501"


def is_unavailable(exc: BaseException) -> bool:
    """True for failures that a stopped or starting database produces."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, psycopg.OperationalError):
        state = exc.sqlstate
        if state is None:
            return not _refused(exc)
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


class ConnectionLost(DatabaseUnavailable):
    """The connection failed under a request: the database (or its proxy) went away."""


def connection_lost(exc: BaseException, conn: psycopg.Connection) -> bool:
    """True when `exc` means the connection failed, not the statement: libpq lost it, or psycopg
    met a protocol surprise of its own (InternalError without SQLSTATE, e.g. "received 2 results
    from command 'BEGIN'": a FATAL error and then EOF). A SQL error leaves the connection fine."""
    if not isinstance(exc, psycopg.Error):
        return False
    if conn.broken:
        # a proxy passes on the server's refusal of its login (then hangs up): still a refusal
        return not _refused(exc)
    return isinstance(exc, psycopg.InternalError) and exc.sqlstate is None


def interrupt(conn: psycopg.Connection) -> None:
    """Cancel the connection's query and shut its socket, so the call blocked on it returns."""
    with contextlib.suppress(Exception):
        conn.cancel_safe(timeout=1.0)
    with contextlib.suppress(OSError, psycopg.Error):
        sock = socket.socket(fileno=os.dup(conn.pgconn.socket))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()


# A deadline's states. Only the watchdog moves ARMED to FIRING (under its lock), so a deadline
# disarmed first never fires, and one that fired is known to have.
_NEW, _ARMED, _DISARMED, _FIRING, _EXPIRED = range(5)


class Deadline:
    """A bound on a connection's operation, armed on entry and disarmed on exit; `expired` (or
    `is_set()`) is true once it passed and the watchdog interrupted the connection."""

    __slots__ = ("conn", "seconds", "at", "state", "_watchdog")

    def __init__(self, conn: Any, seconds: float, watchdog: Watchdog) -> None:
        self.conn = conn
        self.seconds = seconds
        self.at = 0.0
        self.state = _NEW
        self._watchdog = watchdog

    @property
    def expired(self) -> bool:
        return self.state >= _FIRING

    def is_set(self) -> bool:  # reads like the threading.Event it replaces
        return self.state >= _FIRING

    def __enter__(self) -> Deadline:
        self._watchdog.arm(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self._watchdog.disarm(self)


class Watchdog:
    """One daemon thread, started on first use, that sleeps until the earliest armed deadline
    and interrupts its connection. A disarmed deadline stays in the heap until it comes up or
    the heap is compacted, so disarming searches nothing. Expiries run one after another on this
    thread: an interruption takes at most the cancel's 1 s, and a Lambda container serves one
    request at a time."""

    def __init__(
        self,
        interrupt: Callable[[Any], None] = interrupt,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interrupt = interrupt
        self._clock = clock
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # the thread waits on this
        self._fired = threading.Condition(self._lock)  # a disarm meeting an expiry waits on this
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()  # ties: deadlines themselves do not compare
        self._stale = 0  # disarmed deadlines still in the heap
        self._wakes_at = -math.inf  # when the sleeping thread wakes by itself (-inf: awake)
        self._thread: threading.Thread | None = None

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def pending(self) -> int:
        """Entries in the heap, disarmed ones included (bounded by compaction)."""
        with self._lock:
            return len(self._heap)

    def arm(self, deadline: Deadline) -> None:
        with self._lock:
            deadline.at = self._clock() + deadline.seconds
            deadline.state = _ARMED
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="cdc-ops-deadline-watchdog", daemon=True
                )
                self._thread.start()
            elif deadline.at < self._wakes_at:
                self._changed.notify()

    def disarm(self, deadline: Deadline) -> None:
        with self._lock:
            if deadline.state == _ARMED:
                deadline.state = _DISARMED
                self._stale += 1
                self._prune()
                return
            # it is being interrupted: the connection is not the caller's again until that ends
            while deadline.state == _FIRING:
                self._fired.wait()

    def _prune(self) -> None:
        heap = self._heap
        while heap and heap[0][2].state != _ARMED:
            heapq.heappop(heap)
            self._stale -= 1
        if self._stale > 64 and 2 * self._stale > len(heap):
            self._heap = [entry for entry in heap if entry[2].state == _ARMED]
            heapq.heapify(self._heap)
            self._stale = 0

    def _run(self) -> None:
        with self._lock:
            while True:
                self._prune()
                if not self._heap:
                    self._wakes_at = math.inf
                    self._changed.wait()
                    self._wakes_at = -math.inf
                    continue
                at, _, deadline = self._heap[0]
                delay = at - self._clock()
                if delay > 0:
                    self._wakes_at = at
                    self._changed.wait(delay)
                    self._wakes_at = -math.inf
                    continue
                heapq.heappop(self._heap)
                deadline.state = _FIRING
                self._lock.release()
                try:
                    self._interrupt(deadline.conn)
                except Exception:  # noqa: BLE001 - the watchdog must outlive any one expiry
                    logging.getLogger(__name__).exception("interrupting an expired query failed")
                finally:
                    self._lock.acquire()
                    deadline.state = _EXPIRED
                    self._fired.notify_all()


_WATCHDOG = Watchdog()
# a forked child has no watchdog thread: it starts its own on first use
os.register_at_fork(after_in_child=_WATCHDOG._reset)


def deadline(conn: psycopg.Connection, seconds: float) -> Deadline:
    """Bound a database operation in time: `with deadline(conn, s) as expired: ...`. A proxy
    (RDS Proxy, PgBouncer) accepts the login of a client even while the database is down and then
    holds its queries until a server connection can be borrowed - 120 s by default. When the
    deadline passes, the query is cancelled and the socket shut, so the blocked call returns;
    `expired` tells the caller why it failed."""
    return Deadline(conn, seconds, _WATCHDOG)


def _quiet(conn: psycopg.Connection) -> bool:
    """Nothing arrived on an idle connection since its last use (no round trip: a poll)."""
    pgconn = conn.pgconn
    if pgconn.status != ConnStatus.OK or pgconn.transaction_status != TransactionStatus.IDLE:
        return False
    try:
        poll = select.poll()
        poll.register(pgconn.socket, select.POLLIN)
        return not poll.poll(0)
    except (OSError, psycopg.Error):
        return False


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
        # monotonic time a connection was last lost: every one used before is checked
        self.lost_at = -math.inf
        owner = self

        class RecordingConnection(psycopg.Connection):
            last_used = 0.0  # monotonic time it was last given back to the pool (or connected)

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
                conn.last_used = time.monotonic()  # just logged in: alive
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
        # A connection used a moment ago is alive - unless something arrived on it meanwhile
        # (a FATAL, EOF) or another one was lost since (the database may be gone under both).
        # Only those, and one that sat idle, cost a round trip to check.
        last_used = getattr(conn, "last_used", 0.0)
        if (
            time.monotonic() - last_used < CHECK_AFTER_IDLE_S
            and last_used > self.lost_at
            and _quiet(conn)
        ):
            return
        with deadline(conn, self._timeout_s) as bound:
            ConnectionPool.check_connection(conn)
        if bound.expired:  # answered as the deadline passed: its socket is shut all the same
            raise psycopg.OperationalError("the connection check did not answer in time")

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        if self._pool.closed:
            self._pool.open(wait=False)
        try:
            with self._pool.connection() as conn:
                expiry = deadline(conn, self._query_timeout_s)
                try:
                    with expiry:
                        yield conn
                        if conn.pgconn.transaction_status == TransactionStatus.INTRANS:
                            # a block without transaction() (a read): its implicit transaction
                            # ends here, within the deadline, rather than unbounded in the pool
                            conn.commit()
                except psycopg.Error as exc:
                    failure = self._failure(exc, conn, expiry)
                    if failure is None:
                        raise
                    raise failure from exc
                finally:
                    if expiry.expired:
                        conn.close()  # its socket was shut: the pool replaces it
                conn.last_used = time.monotonic()
        except PoolTimeout as exc:  # (a psycopg.OperationalError itself)
            cause = self.last_connect_error
            if cause is not None and not is_unavailable(cause):
                raise cause from exc
            raise DatabaseUnavailable(f"database did not answer: {cause or exc}") from exc

    def _failure(
        self, exc: psycopg.Error, conn: psycopg.Connection, expiry: Deadline
    ) -> DatabaseUnavailable | None:
        """What a failure on a checked-out connection becomes; None: itself."""
        if expiry.expired:
            self.lost_at = time.monotonic()
            return DatabaseUnavailable(f"database did not answer within {self._query_timeout_s:g}s")
        if connection_lost(exc, conn):
            self.lost_at = time.monotonic()
            conn.close()  # whatever state it is in, it is not given out again
            detail = next(iter(str(exc).strip().splitlines()), type(exc).__name__)
            return ConnectionLost(f"database connection lost: {detail}")
        if is_unavailable(exc):
            return DatabaseUnavailable(f"database did not answer: {exc}")
        return None

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
