"""When a re-snapshot counts as done (pure): Debezium acted on the signal, closed every chunk
window it opened, and its metrics (where they can be read) show no snapshot running."""

from __future__ import annotations

from cdc_ops.connector.metrics import ConnectorMetrics
from cdc_ops.connector.resnapshot import snapshot_progress
from cdc_ops.connector.snapshot import SnapshotWindows


def jmx(running: bool | None, chunk: str = "") -> ConnectorMetrics:
    return ConnectorMetrics("jolokia", snapshot_running=running, snapshot_chunk=chunk)


def test_not_acted_on_yet() -> None:
    progress = snapshot_progress(SnapshotWindows(0, 0), jmx(False))
    assert (progress.done, progress.says) == (
        False,
        "signal written; Debezium has not acted on it yet",
    )


def test_running_while_a_window_is_open_or_the_metrics_say_so() -> None:
    assert not snapshot_progress(SnapshotWindows(2, 1), jmx(False)).done
    running = snapshot_progress(SnapshotWindows(2, 2), jmx(True, "c1"))
    assert (running.done, running.says) == (
        False,
        "snapshot running: 2 chunk window(s) opened, 2 closed, chunk c1",
    )


def test_done_when_every_window_closed_and_nothing_runs() -> None:
    assert snapshot_progress(SnapshotWindows(3, 3), jmx(False)).done
    # no metrics to read (no agent): the windows alone decide
    assert snapshot_progress(SnapshotWindows(3, 3), ConnectorMetrics("none")).done
    assert snapshot_progress(SnapshotWindows(3, 3), None).done
