"""PostgreSQL connections: the cluster endpoint (replication, admin) and the proxy endpoint."""

from __future__ import annotations

from typing import Literal

import psycopg
from psycopg.conninfo import make_conninfo

from cdc_ops.clients.database_secret import database_password, password_keys
from cdc_ops.settings import Settings

Endpoint = Literal["cluster", "proxy"]


def conninfo(settings: Settings, endpoint: Endpoint = "cluster", **extra: object) -> str:
    """Connection string for the cluster endpoint (never the proxy for replication) or the proxy."""
    db = settings.database
    settings.require(
        "database.cluster_host" if endpoint == "cluster" else "database.proxy_host",
        *password_keys(settings),
    )
    host, port = (
        (db.cluster_host, db.cluster_port)
        if endpoint == "cluster"
        else (db.proxy_host, db.proxy_port)
    )
    return make_conninfo(
        host=host,
        port=port,
        dbname=db.name,
        user=db.user,
        password=database_password(settings),
        connect_timeout=db.connect_timeout_s,
        application_name="cdc-ops",
        **extra,
    )


def connect(settings: Settings, endpoint: Endpoint = "cluster") -> psycopg.Connection:
    return psycopg.connect(conninfo(settings, endpoint), autocommit=True)
