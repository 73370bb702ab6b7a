"""What the latency benchmarks share: a partition's end offset read where a topic may be new, and
the summary of a list of latencies (in seconds) as milliseconds."""

from __future__ import annotations

import statistics
import time
from typing import Any

from confluent_kafka import KafkaException, TopicPartition


def end_offset(consumer: Any, topic: str, partition: int, wait_s: float = 30) -> int:
    """The partition's end offset; a topic just created has no leader for a moment."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def latency_stats(latencies_s: list[float]) -> dict[str, float]:
    """n, p50, p99, max and mean in ms of latencies in seconds (just n when there are none)."""
    ordered = sorted(latencies_s)
    if not ordered:
        return {"n": 0}
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "n": len(ordered),
        "p50_ms": round(1000 * pick(0.5), 1),
        "p99_ms": round(1000 * pick(0.99), 1),
        "max_ms": round(1000 * ordered[-1], 1),
        "mean_ms": round(1000 * statistics.fmean(ordered), 1),
    }
