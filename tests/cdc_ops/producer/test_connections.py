"""Failure classification and DSQL token caching (pure, with a controllable clock)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import psycopg
from psycopg_pool import PoolTimeout

from cdc_ops.producer.connections import ReusedPassword, dsql_token_generator, is_unavailable
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
