"""Re-snapshot on demand, as the Dagster job and `cdc-ops connector snapshot` run it: write the
signal, then follow the snapshot until it is done (or the wait is up), from two sources: the
chunk windows Debezium writes to the signal table, and its snapshot metrics (JMX, through the
worker's Jolokia agent).

`snapshot_progress` is the judgement (pure): done once Debezium has opened a window for the
signal, closed every window it opened, and (where its metrics can be read) no longer reports a
snapshot running.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cdc_ops.clients.postgres import connect
from cdc_ops.connector.config import CAPTURED_TABLES
from cdc_ops.connector.metrics import ConnectorMetrics, ConnectorMetricsReader
from cdc_ops.connector.snapshot import (
    SnapshotRequestError,
    SnapshotWindows,
    request_snapshot,
    snapshot_windows,
)
from cdc_ops.settings import Settings


@dataclass(frozen=True)
class Progress:
    done: bool
    says: str


def snapshot_progress(windows: SnapshotWindows, metrics: ConnectorMetrics | None) -> Progress:
    running = metrics.snapshot_running if metrics is not None else None
    chunk = f", chunk {metrics.snapshot_chunk}" if metrics and metrics.snapshot_chunk else ""
    counted = f"{windows.opened} chunk window(s) opened, {windows.closed} closed"
    if not windows.consumed:
        return Progress(False, "signal written; Debezium has not acted on it yet")
    if windows.in_chunk or running:
        return Progress(False, f"snapshot running: {counted}{chunk}")
    return Progress(True, f"snapshot completed: {counted}")


@dataclass(frozen=True)
class SnapshotRun:
    signal_id: str
    tables: tuple[str, ...]
    done: bool
    says: str
    waited_s: float


def run_snapshot(
    settings: Settings,
    metrics: ConnectorMetricsReader,
    tables: Sequence[str] = CAPTURED_TABLES,
    *,
    wait: bool = True,
    timeout_s: float = 600.0,
    on_progress: Callable[[Progress], None] = lambda _p: None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> SnapshotRun:
    """Ask for an incremental snapshot of `tables` and, with `wait`, follow it to its end."""
    if settings.connector.variant != "debezium":
        raise SnapshotRequestError(
            "incremental snapshots on demand need connector.variant=debezium (the signal table"
            f" is configured only there); this connector is {settings.connector.variant}"
        )
    table = settings.names.signal_table
    start = monotonic()
    with connect(settings, "cluster") as conn:
        signal_id = request_snapshot(conn, table, tables)
        chosen = tuple(tables)
        if not wait:
            return SnapshotRun(signal_id, chosen, False, "signal written", 0.0)
        last = ""
        while True:
            progress = snapshot_progress(snapshot_windows(conn, table, signal_id), metrics.read())
            if progress.says != last:
                on_progress(progress)
                last = progress.says
            waited = monotonic() - start
            if progress.done:
                return SnapshotRun(signal_id, chosen, True, progress.says, waited)
            if waited >= timeout_s:
                says = f"{progress.says} (still not done after {timeout_s:g} s)"
                return SnapshotRun(signal_id, chosen, False, says, waited)
            sleep(1.0)
