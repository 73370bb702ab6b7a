"""Hours running vs stopped, from a timeline of observed cluster statuses, and what it saved.

Each observed status holds until the next observation; time before the first one is unknown and
counts neither way. Every status but `stopped` is billed compute (starting and stopping too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cdc_ops.states import ABSENT

NOT_BILLED = {"stopped"}
UNKNOWN = {ABSENT, "unknown", "unreachable"}


@dataclass(frozen=True)
class Uptime:
    window: timedelta
    running_h: float
    stopped_h: float
    unknown_h: float

    @property
    def stopped_share(self) -> float | None:
        known = self.running_h + self.stopped_h
        return self.stopped_h / known if known else None

    def saving(self, hourly_price: float) -> float:
        return self.stopped_h * hourly_price


def uptime(samples: Sequence[tuple[datetime, str]], end: datetime, window: timedelta) -> Uptime:
    """samples: (observed at, status), any order."""
    start = end - window
    ordered = sorted(samples)
    running = stopped = 0.0
    # the status in force at `start` is the last one observed before it
    current: str | None = None
    cursor = start
    for at, status in ordered:
        if at <= start:
            current = status
            continue
        if at >= end:
            break
        running, stopped = _add(current, cursor, at, running, stopped)
        current, cursor = status, at
    running, stopped = _add(current, cursor, end, running, stopped)
    total = window.total_seconds() / 3600
    return Uptime(window, running, stopped, total - running - stopped)


def _add(
    status: str | None, since: datetime, until: datetime, running: float, stopped: float
) -> tuple[float, float]:
    hours = (until - since).total_seconds() / 3600
    if status is None or status in UNKNOWN:
        return running, stopped
    if status in NOT_BILLED:
        return running, stopped + hours
    return running + hours, stopped
