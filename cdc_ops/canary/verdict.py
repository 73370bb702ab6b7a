"""How a route did with its canary: one measurement in, one verdict out (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from cdc_ops.health.verdicts import Health

PART = "latency"
#: the hops of a canary's way, in order; each from one moment to the next (all epoch ms)
HOPS = (
    ("api_to_table_ms", "posted_ms", "answered_ms"),  # the API's answer: the row is committed
    ("table_to_connector_ms", "answered_ms", "captured_ms"),  # Debezium's __ts_ms
    ("connector_to_raw_ms", "captured_ms", "raw_ms"),  # the raw record's Kafka timestamp
    ("raw_to_filtered_ms", "raw_ms", "filtered_ms"),  # the filtered record's Kafka timestamp
    ("filtered_to_read_ms", "filtered_ms", "seen_ms"),  # read back by the canary
)


@dataclass(frozen=True)
class Measurement:
    """One route's canary. Moments are epoch milliseconds: posted, answered and seen on the
    canary's own clock; captured (Debezium's __ts_ms) and the two Kafka timestamps on the
    connector's and Flink's (the same host locally)."""

    route: str
    topic: str
    timeout_s: float
    canary_id: str | None = None
    unsatisfiable: str | None = None  # why no canary can exist for this route
    skipped: str | None = None  # why none was sent this time (the cluster is not available)
    api_error: str | None = None  # the producer API refused or failed the canary
    posted_ms: float | None = None
    answered_ms: float | None = None
    captured_ms: float | None = None
    raw_ms: float | None = None
    filtered_ms: float | None = None
    seen_ms: float | None = None

    @property
    def end_to_end_ms(self) -> float | None:
        if self.seen_ms is None or self.posted_ms is None:
            return None
        return self.seen_ms - self.posted_ms

    def hops(self) -> dict[str, float | None]:
        """Each hop's milliseconds, None where a moment is unknown. They add up to end to end;
        across clocks (and at millisecond resolution) one can be slightly negative."""
        out: dict[str, float | None] = {}
        for name, start, end in HOPS:
            a, b = getattr(self, start), getattr(self, end)
            out[name] = None if a is None or b is None else b - a
        return out


def latency_verdict(m: Measurement, threshold_ms: float) -> Health:
    """ok; slow (over the threshold: warns); dropped (not on its topic in time: fails);
    unsatisfiable or not sent (warns with the reason); refused by the API (fails)."""
    name, topic = m.route, m.topic
    if m.unsatisfiable is not None:
        says = f"{name}: no canary can satisfy its filter, so it is not measured: {m.unsatisfiable}"
        return Health(PART, name, "unsatisfiable", False, says, severe=False)
    if m.skipped is not None:
        return Health(PART, name, "not measured", False, f"{name}: {m.skipped}", severe=False)
    if m.api_error is not None:
        says = f"{name}: the producer API did not take canary {m.canary_id}: {m.api_error}"
        return Health(PART, name, "api failed", False, says)
    e2e = m.end_to_end_ms
    if e2e is None:
        if m.raw_ms is None:
            where = "it did not reach the raw topic either (capture: connector or slot)"
        else:
            where = "it reached the raw topic, so it was lost between the raw topic and the route"
        says = f"{name}: canary {m.canary_id} dropped: not on {topic} within {m.timeout_s:g} s"
        says += f"; {where}"
        return Health(PART, name, "dropped", False, says)
    figure = f"{e2e:.0f} ms"
    hops = {k: v for k, v in m.hops().items() if v is not None}
    if e2e > threshold_ms:
        slowest = max(hops, key=lambda k: hops[k]) if hops else None
        where = f"; slowest hop {slowest} {hops[slowest]:.0f} ms" if slowest else ""
        says = (
            f"{name}: {figure} from the producer API to {topic}, over the"
            f" {threshold_ms:g} ms threshold{where}"
        )
        return Health(PART, name, "slow", False, says, figure, severe=False)
    says = f"{name}: {figure} from the producer API to {topic} (threshold {threshold_ms:g} ms)"
    return Health(PART, name, "ok", True, says, figure)
