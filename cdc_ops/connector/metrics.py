"""What the connector is doing, beyond its state: how far behind the source it is, how many
events it has seen, and where its snapshot stands.

Each backend has its own source for these figures (Debezium's JMX MBeans through the worker's
Jolokia agent; Confluent Cloud's Metrics API for a managed connector); both fill the same
`ConnectorMetrics`, and what a source cannot tell is None with the reason in `unavailable`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class ConnectorMetrics:
    source: str  # "jolokia", "confluent metrics api", or "none"
    # streaming
    connected: bool | None = None
    ms_behind_source: int | None = None  # of the last event streamed; -1 before the first
    total_events_seen: int | None = None
    last_event: str = ""  # Debezium's LastEvent: a short description of it
    # snapshot (the initial one, or an incremental one asked for through the signal table)
    snapshot_running: bool | None = None
    snapshot_completed: bool | None = None
    snapshot_aborted: bool | None = None
    snapshot_remaining_tables: int | None = None
    snapshot_rows_scanned: int | None = None
    snapshot_chunk: str = ""  # an incremental snapshot's current chunk, if any
    # managed connectors: records the service counted (Confluent's received/sent records)
    records_sent: int | None = None
    # figure -> why it cannot be had (a source that does not publish it, an error reading it)
    unavailable: dict[str, str] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.source != "none"


class ConnectorMetricsReader(Protocol):
    def read(self) -> ConnectorMetrics: ...


class NoMetrics:
    """A backend whose worker publishes no metrics cdc-ops can reach."""

    def __init__(self, why: str) -> None:
        self._why = why

    def read(self) -> ConnectorMetrics:
        return ConnectorMetrics("none", unavailable={"all": self._why})


def events_per_second(
    previous_total: int | None,
    previous_at: datetime | None,
    total: int | None,
    at: datetime,
) -> float | None:
    """The rate between two observations of TotalNumberOfEventsSeen; None when it cannot be told
    (no earlier observation, or the counter went back: the task restarted and counts from 0)."""
    if previous_total is None or previous_at is None or total is None or total < previous_total:
        return None
    seconds = (at - previous_at).total_seconds()
    if seconds <= 0:
        return None
    return (total - previous_total) / seconds
