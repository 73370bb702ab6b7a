"""Failure classification, DSQL token caching (pure, with a controllable clock), the deadline
watchdog, and the pool against a loopback fake of the PostgreSQL wire protocol that sends what a
database crashing behind PgBouncer sends - deterministically, no real server."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from psycopg_pool import PoolTimeout

from cdc_ops.errors import DatabaseUnavailable
from cdc_ops.producer.connections import (
    ConnectionLost,
    Deadline,
    PooledDatabase,
    ReusedPassword,
    Watchdog,
    connection_lost,
    deadline,
    dsql_token_generator,
    is_unavailable,
)
from cdc_ops.settings import load_settings


def test_what_counts_as_database_unavailable() -> None:
    assert is_unavailable(PoolTimeout("couldn't get a connection after 5.00 sec"))
    refused = 'connection to server at "127.0.0.1", port 5432 failed: Connection refused'
    assert is_unavailable(psycopg.OperationalError(refused))  # libpq gives no SQLSTATE
    assert is_unavailable(psycopg.OperationalError("server closed the connection unexpectedly"))
    assert is_unavailable(
        psycopg.OperationalError("FATAL:  server login has been failing, try again later")
    )
    assert is_unavailable(psycopg.errors.lookup("57P03")("the database system is starting up"))
    assert is_unavailable(psycopg.errors.lookup("57P01")("terminating connection"))
    assert is_unavailable(psycopg.errors.lookup("08006")("connection failure"))
    # a wrong password, an unknown database or a SQL error is not "start the database"
    assert not is_unavailable(psycopg.OperationalError("FATAL:  SASL authentication failed"))
    assert not is_unavailable(psycopg.OperationalError('FATAL:  database "nope" does not exist'))
    assert not is_unavailable(psycopg.errors.lookup("28P01")("password authentication failed"))
    assert not is_unavailable(psycopg.errors.lookup("42P01")("relation does not exist"))
    assert not is_unavailable(ValueError("x"))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_dsql_token_is_reused_for_14_minutes_then_replaced() -> None:
    issued: list[str] = []

    def generate() -> str:
        issued.append(f"token-{len(issued)}")
        return issued[-1]

    clock = Clock()
    tokens = ReusedPassword(generate, reuse_s=840, clock=clock)
    assert tokens() == {"password": "token-0"}
    clock.now += 839
    assert tokens() == {"password": "token-0"}
    clock.now += 1  # 14 minutes: one minute before the 15-minute token expires
    assert tokens() == {"password": "token-1"}
    assert tokens() == {"password": "token-1"}
    assert issued == ["token-0", "token-1"]


def test_token_generator_signs_a_dsql_connect_url_for_the_configured_host() -> None:
    settings = load_settings(
        env="aws",
        database={"cluster_host": "h", "password": "p"},
        kafka={"bootstrap_servers": "b:9092"},
        aws={"access_key_id": "AKIAEXAMPLE", "secret_access_key": "secret"},
        dsql={"host": "abc123.dsql.us-east-1.on.aws"},
    )
    token = dsql_token_generator(settings)()  # signed locally, no network
    url = urlsplit("https://" + token)
    query = parse_qs(url.query)
    assert url.hostname == "abc123.dsql.us-east-1.on.aws"
    assert query["Action"] == ["DbConnectAdmin"]
    assert query["X-Amz-Expires"] == ["900"]
    assert "secret" not in token


def test_a_refused_password_is_forgotten_and_fetched_again() -> None:
    values = iter(["old", "rotated"])
    password = ReusedPassword(lambda: next(values), reuse_s=300, clock=Clock())
    assert password() == {"password": "old"}
    assert password() == {"password": "old"}  # reused inside the window
    password.forget()
    assert password() == {"password": "rotated"}


class Conn:
    def __init__(self, broken: bool) -> None:
        self.broken = broken


def test_a_lost_connection_is_told_from_a_failed_statement() -> None:
    lost, alive = Conn(broken=True), Conn(broken=False)
    # a crash under load: whatever the error, libpq lost the connection
    assert connection_lost(psycopg.errors.lookup("57P01")("unexpected postmaster exit"), lost)
    assert connection_lost(psycopg.errors.lookup("08P01")("server conn crashed?"), lost)
    assert connection_lost(psycopg.OperationalError("server closed the connection"), lost)
    two = psycopg.InternalError("received 2 results from command 'BEGIN'")
    assert connection_lost(two, lost)
    # psycopg's own protocol surprise: the connection cannot be trusted even if libpq holds it
    assert connection_lost(two, alive)
    assert connection_lost(psycopg.InternalError("got no result from the query"), alive)
    # a statement that failed on a sound connection is itself, even the server's XX000
    assert not connection_lost(psycopg.errors.lookup("42P01")("relation does not exist"), alive)
    assert not connection_lost(psycopg.errors.lookup("XX000")("internal error"), alive)
    assert not connection_lost(psycopg.errors.lookup("23505")("duplicate key"), alive)
    # a proxy passing on the server's refusal of its login, then hanging up: a refusal
    refused = psycopg.errors.lookup("28P01")("password authentication failed")
    assert not connection_lost(refused, lost)
    assert not connection_lost(psycopg.OperationalError('database "x" does not exist'), lost)
    assert not connection_lost(ValueError("x"), lost)


# -- the deadline watchdog ------------------------------------------------------------------


class Interrupts:
    """Records what the watchdog interrupts; can hold an interruption until released."""

    def __init__(self) -> None:
        self.conns: list[object] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def __call__(self, conn: object) -> None:
        self.started.set()
        self.release.wait(5)
        self.conns.append(conn)


def wait_until(condition, timeout_s: float = 5.0) -> None:
    deadline_at = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline_at, "timed out"
        time.sleep(0.005)


def test_one_watchdog_thread_expires_only_the_deadlines_that_passed() -> None:
    interrupts = Interrupts()
    watchdog = Watchdog(interrupt=interrupts)
    assert watchdog.thread is None  # started on first use
    for n in range(1000):
        with Deadline(f"quick-{n}", 30, watchdog) as d:
            pass
        assert not d.expired
    thread = watchdog.thread
    assert thread is not None and thread.daemon
    with Deadline("slow", 0.05, watchdog) as slow:
        wait_until(lambda: slow.expired)
    assert slow.is_set() and interrupts.conns == ["slow"]
    assert watchdog.thread is thread  # the same thread, however many deadlines
    names = [t.name for t in threading.enumerate()]
    assert names.count("cdc-ops-deadline-watchdog") >= 1
    # disarmed ones do not pile up in its heap
    assert watchdog.pending() <= 130


def test_a_later_deadline_armed_first_does_not_delay_an_earlier_one() -> None:
    interrupts = Interrupts()
    watchdog = Watchdog(interrupt=interrupts)
    late = Deadline("late", 0.6, watchdog)
    early = Deadline("early", 0.05, watchdog)
    with late:
        time.sleep(0.02)  # the watchdog sleeps until "late"; "early" must wake it
        began = time.monotonic()
        with early:
            wait_until(lambda: early.expired)
        assert time.monotonic() - began < 0.4
        assert not late.expired
        wait_until(lambda: late.expired)
    assert interrupts.conns == ["early", "late"]


def test_leaving_a_deadline_that_is_firing_waits_for_its_interruption() -> None:
    interrupts = Interrupts()
    interrupts.release.clear()
    watchdog = Watchdog(interrupt=interrupts)
    d = Deadline("conn", 0.01, watchdog)
    left = threading.Event()

    def leave() -> None:
        with d:
            interrupts.started.wait(5)
        left.set()

    t = threading.Thread(target=leave)
    t.start()
    assert interrupts.started.wait(5)
    # the caller must not get its connection back while the watchdog is still shutting it
    assert not left.wait(0.2)
    interrupts.release.set()
    t.join(5)
    assert left.is_set() and d.expired and interrupts.conns == ["conn"]


def test_deadline_uses_one_process_wide_watchdog() -> None:
    before = set(threading.enumerate())
    for _ in range(2):
        for _ in range(50):
            with deadline(object(), 30) as d:  # type: ignore[arg-type]
                pass
            assert not d.is_set()
        # at most the one watchdog, started lazily by the first deadline of the process
        assert len(set(threading.enumerate()) - before) <= 1


# -- the pool against a crashing server, on a loopback fake of the wire protocol --------------

_CANCEL, _SSL, _GSS = 80877102, 80877103, 80877104


def _msg(kind: bytes, payload: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(payload) + 4) + payload


def _error(severity: str, code: str, message: str) -> bytes:
    fields = ((b"S", severity), (b"V", severity), (b"C", code), (b"M", message))
    return _msg(b"E", b"".join(k + v.encode() + b"\0" for k, v in fields) + b"\0")


class FakePostgres:
    """Just enough PostgreSQL protocol for psycopg: logins, BEGIN/COMMIT, one-statement extended
    queries, cancel requests. `fail_next(command, action)` makes the next such command crash
    (the backend's FATAL, PgBouncer's "server conn crashed?", then the connection closes - what
    a client of PgBouncer gets when the database dies under it), hold (PgBouncer waiting for a
    server), fail as SQL, or answer two results on a live connection."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._plan: list[tuple[str, str]] = []
        self._open: list[socket.socket] = []
        self.logins = 0
        self.cancels = 0
        self.queries: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def conninfo(self) -> str:
        return (
            f"host=127.0.0.1 port={self.port} dbname=app user=app"
            " sslmode=disable gssencmode=disable connect_timeout=2"
        )

    def fail_next(self, command: str, action: str) -> None:
        with self._lock:
            self._plan.append((command, action))

    def hang_up_idle(self) -> None:
        """The database dies while the clients' connections sit idle."""
        with self._lock:
            conns = list(self._open)
        for sock in conns:
            self._crash(sock)

    def close(self) -> None:
        self._listener.close()
        self.hang_up_idle()

    def _action(self, word: str) -> str | None:
        with self._lock:
            for i, (command, action) in enumerate(self._plan):
                if command == word:
                    del self._plan[i]
                    return action
        return None

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    @staticmethod
    def _read(sock: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    @staticmethod
    def _crash(sock: socket.socket) -> None:
        try:
            sock.sendall(
                _error("FATAL", "57P01", "terminating connection due to unexpected postmaster exit")
                + _error("FATAL", "08P01", "server conn crashed?")
            )
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _serve(self, sock: socket.socket) -> None:
        try:
            if self._login(sock):
                self._session(sock)
        except (EOFError, OSError):
            pass
        finally:
            with self._lock:
                if sock in self._open:
                    self._open.remove(sock)
            sock.close()

    def _login(self, sock: socket.socket) -> bool:
        while True:
            length, code = struct.unpack("!ii", self._read(sock, 8))
            if code in (_SSL, _GSS):
                sock.sendall(b"N")
                continue
            self._read(sock, length - 8)
            if code == _CANCEL:
                with self._lock:
                    self.cancels += 1
                return False
            break
        with self._lock:
            self.logins += 1
            self._open.append(sock)
        params = {
            "server_version": "15.0",
            "server_encoding": "UTF8",
            "client_encoding": "UTF8",
            "standard_conforming_strings": "on",
            "DateStyle": "ISO, MDY",
            "integer_datetimes": "on",
            "TimeZone": "UTC",
        }
        hello = _msg(b"R", struct.pack("!i", 0))
        for key, value in params.items():
            hello += _msg(b"S", key.encode() + b"\0" + value.encode() + b"\0")
        sock.sendall(hello + _msg(b"K", struct.pack("!ii", 4242, 7)) + _msg(b"Z", b"I"))
        return True

    def _session(self, sock: socket.socket) -> None:
        status, query = b"I", ""
        while True:
            kind = self._read(sock, 1)
            (length,) = struct.unpack("!i", self._read(sock, 4))
            body = self._read(sock, length - 4)
            if kind == b"X":
                return
            if kind == b"P":  # extended protocol: the statement, answered at Sync
                query = body.split(b"\0")[1].decode()
                continue
            if kind not in (b"Q", b"S"):
                continue
            if kind == b"Q":
                query = body[:-1].decode()
            with self._lock:
                self.queries.append(query)
            word = (query.split() or [""])[0].upper()
            action = self._action(word)
            if action == "crash":
                self._crash(sock)
                return
            if action == "hold":
                while sock.recv(1024):
                    pass
                return
            if action == "sql-error":
                status = b"E" if status == b"T" else status
                sock.sendall(_error("ERROR", "42P01", "no such table") + _msg(b"Z", status))
                continue
            if action == "two-results":
                stray = _error("ERROR", "XX000", "stray") + _msg(b"C", word.encode() + b"\0")
                sock.sendall(stray + _msg(b"Z", status))
                continue
            if word == "BEGIN":
                status = b"T"
            elif word in ("COMMIT", "ROLLBACK"):
                status = b"I"
            if kind == b"Q":
                sock.sendall(_msg(b"C", word.encode() + b"\0") + _msg(b"Z", status))
            else:
                done = _msg(b"C", b"INSERT 0 1\0") if query else _msg(b"I")
                sock.sendall(_msg(b"1") + _msg(b"2") + _msg(b"n") + done + _msg(b"Z", status))


@pytest.fixture
def server() -> Iterator[FakePostgres]:
    fake = FakePostgres()
    yield fake
    fake.close()


def pooled(server: FakePostgres, max_size: int = 1, query_timeout_s: float = 2) -> PooledDatabase:
    return PooledDatabase(
        server.conninfo(),
        lambda: {},
        max_size=max_size,
        timeout_s=1,
        query_timeout_s=query_timeout_s,
        name="fake",
    )


@pytest.fixture
def db(server: FakePostgres) -> Iterator[PooledDatabase]:
    database = pooled(server)
    yield database
    database.close()


def write(db: PooledDatabase) -> None:
    with db.connection() as conn, conn.transaction():
        conn.execute("INSERT INTO t VALUES (1)")


def write_autocommit(db: PooledDatabase) -> None:
    """As ProducerRepository writes: one statement in autocommit, no BEGIN."""
    with db.connection() as conn:
        conn.autocommit = True
        conn.execute("INSERT INTO t VALUES (1)")


def test_a_crash_at_begin_on_a_reused_connection_is_a_503_not_a_500(server, db) -> None:
    write(db)
    server.fail_next("BEGIN", "crash")
    with pytest.raises(ConnectionLost) as lost:
        write(db)  # within a second: no round trip checks the connection first
    assert isinstance(lost.value, DatabaseUnavailable)  # the handler's 503
    # what the pool answered before: an InternalError, a 500
    assert isinstance(lost.value.__cause__, psycopg.InternalError)
    assert str(lost.value.__cause__) == "received 2 results from command 'BEGIN'"
    assert str(lost.value) == "database connection lost: received 2 results from command 'BEGIN'"
    # the broken connection was discarded: the next request runs on a new one
    write(db)
    assert server.logins == 2


@pytest.mark.parametrize(
    ("command", "run"),
    [("INSERT", write), ("COMMIT", write), ("INSERT", write_autocommit)],
    ids=["mid-transaction", "at-commit", "autocommit-statement"],
)
def test_a_crash_after_the_statement_was_sent_is_a_503_and_not_retried(
    server, db, command, run
) -> None:
    run(db)
    server.fail_next(command, "crash")
    with pytest.raises(ConnectionLost):
        run(db)
    # sent once, not again: it may have committed
    assert server.queries.count("INSERT INTO t VALUES (1)") == 2
    run(db)
    assert server.logins == 2


def test_a_connection_the_server_dropped_while_pooled_is_replaced_before_use(server, db) -> None:
    write(db)
    server.hang_up_idle()
    time.sleep(0.05)  # the FATALs and EOF reach the idle socket
    write(db)  # inside a second, yet the dead connection is seen and replaced: no error at all
    assert server.logins == 2
    assert server.queries == ["BEGIN", "INSERT INTO t VALUES (1)", "COMMIT"] * 2


def test_after_a_loss_the_other_pooled_connections_are_checked_before_use(server) -> None:
    db = pooled(server, max_size=2)
    try:
        with db.connection() as first, db.connection() as second:
            for conn in (first, second):
                with conn.transaction():
                    conn.execute("INSERT INTO t VALUES (1)")
        server.fail_next("BEGIN", "crash")
        with pytest.raises(ConnectionLost):
            write(db)
        server.queries.clear()
        write(db)  # the other one, used before the loss: a round trip ("") checks it first
        assert server.queries == ["", "BEGIN", "INSERT INTO t VALUES (1)", "COMMIT"]
        server.queries.clear()
        write(db)  # used after the loss and a moment ago: no check
        assert server.queries == ["BEGIN", "INSERT INTO t VALUES (1)", "COMMIT"]
    finally:
        db.close()


def test_a_protocol_surprise_on_a_live_connection_discards_it(server, db) -> None:
    write(db)
    server.fail_next("BEGIN", "two-results")
    with pytest.raises(ConnectionLost):
        write(db)
    write(db)
    assert server.logins == 2


def test_a_sql_error_is_itself_and_the_connection_is_kept(server, db) -> None:
    write(db)
    server.fail_next("INSERT", "sql-error")
    with pytest.raises(psycopg.errors.UndefinedTable):
        write(db)
    write(db)
    assert server.logins == 1


def test_a_held_query_is_cancelled_at_its_deadline(server) -> None:
    db = pooled(server, query_timeout_s=0.3)
    try:
        write(db)
        server.fail_next("BEGIN", "hold")  # PgBouncer waiting for a database that is down
        began = time.monotonic()
        with pytest.raises(DatabaseUnavailable, match=r"did not answer within 0.3s"):
            write(db)
        assert time.monotonic() - began < 2
        wait_until(lambda: server.cancels == 1)  # the query was cancelled, not just abandoned
        write(db)
        assert server.logins == 2  # the interrupted connection was not given out again
    finally:
        db.close()


def test_the_commit_of_a_read_is_bounded_by_the_deadline_too(server) -> None:
    db = pooled(server, query_timeout_s=0.3)
    try:
        write(db)
        server.fail_next("COMMIT", "hold")
        with pytest.raises(DatabaseUnavailable, match="within"), db.connection() as conn:
            conn.execute("INSERT INTO t VALUES (2)")  # no transaction(): committed on leaving
    finally:
        db.close()
