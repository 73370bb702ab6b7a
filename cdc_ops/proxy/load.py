"""A load generator for the proxy: more concurrent clients than its pool has connections.

Each client holds a transaction for `query_s` (pg_sleep), again and again, through the proxy
endpoint; with more clients than pooled server connections the rest wait to borrow one, which is
what the proxy-saturation sensor measures. Bounded in clients and time; loopback or the
configured proxy only.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import psycopg

from cdc_ops.clients.postgres import conninfo
from cdc_ops.settings import Settings


@dataclass(frozen=True)
class LoadReport:
    clients: int
    seconds: float
    queries: int
    errors: int
    mean_ms: float
    max_ms: float


class ProxyLoad:
    def __init__(self, settings: Settings, clients: int, query_s: float = 0.5) -> None:
        if not 1 <= clients <= 500:
            raise ValueError("clients must be between 1 and 500")
        self._conninfo = conninfo(settings, "proxy")
        self._clients = clients
        self._query_s = query_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._latencies: list[float] = []
        self._errors = 0
        self._threads: list[threading.Thread] = []
        self._began = 0.0

    def _client(self) -> None:
        try:
            with psycopg.connect(self._conninfo, autocommit=True, prepare_threshold=None) as conn:
                while not self._stop.is_set():
                    began = time.perf_counter()
                    conn.execute("SELECT pg_sleep(%s)", (self._query_s,))
                    with self._lock:
                        self._latencies.append(time.perf_counter() - began)
        except psycopg.Error:
            with self._lock:
                self._errors += 1

    def start(self) -> ProxyLoad:
        self._began = time.monotonic()
        self._threads = [
            threading.Thread(target=self._client, daemon=True) for _ in range(self._clients)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> LoadReport:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self._query_s * self._clients + 30)
        lat = self._latencies
        return LoadReport(
            clients=self._clients,
            seconds=round(time.monotonic() - self._began, 1),
            queries=len(lat),
            errors=self._errors,
            mean_ms=round(1000 * sum(lat) / len(lat), 1) if lat else 0.0,
            max_ms=round(1000 * max(lat), 1) if lat else 0.0,
        )
