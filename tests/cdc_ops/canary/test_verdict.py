"""The verdict on one route's canary (pure)."""

from __future__ import annotations

from cdc_ops.canary.verdict import Measurement, latency_verdict

T0 = 1_800_000_000_000.0


def seen(e2e_ms: float, **kw) -> Measurement:
    return Measurement(
        "loan_created",
        "filtered-loan-created-events",
        30.0,
        canary_id="cdc-ops-canary-loan-created-u1",
        posted_ms=T0,
        answered_ms=T0 + 12,
        captured_ms=T0 + 40,
        raw_ms=T0 + 55,
        filtered_ms=T0 + e2e_ms - 5,
        seen_ms=T0 + e2e_ms,
        **kw,
    )


def test_a_canary_in_time_passes_with_its_figures() -> None:
    m = seen(180)
    health = latency_verdict(m, 5000)
    assert (health.state, health.healthy, health.figure) == ("ok", True, "180 ms")
    assert m.hops() == {
        "api_to_table_ms": 12,
        "table_to_connector_ms": 28,
        "connector_to_raw_ms": 15,
        "raw_to_filtered_ms": 120,
        "filtered_to_read_ms": 5,
    }
    assert sum(m.hops().values()) == m.end_to_end_ms == 180


def test_over_the_threshold_warns_and_names_the_slowest_hop() -> None:
    health = latency_verdict(seen(7000), 5000)
    assert (health.state, health.healthy, health.severe) == ("slow", False, False)
    assert "over the 5000 ms threshold; slowest hop raw_to_filtered_ms 6940 ms" in health.says


def test_a_canary_not_on_its_topic_in_time_is_dropped_and_fails() -> None:
    lost = Measurement(
        "loan_created",
        "filtered-loan-created-events",
        30.0,
        "id-1",
        posted_ms=T0,
        answered_ms=T0 + 10,
        captured_ms=T0 + 20,
        raw_ms=T0 + 30,
    )
    health = latency_verdict(lost, 5000)
    assert (health.state, health.healthy, health.severe) == ("dropped", False, True)
    assert "not on filtered-loan-created-events within 30 s" in health.says
    assert "between the raw topic and the route" in health.says
    assert lost.end_to_end_ms is None and lost.hops()["raw_to_filtered_ms"] is None
    never = Measurement("r", "t", 30.0, "id-2", posted_ms=T0, answered_ms=T0 + 10)
    assert "did not reach the raw topic either" in latency_verdict(never, 5000).says


def test_an_unsatisfiable_route_warns_with_its_reason() -> None:
    m = Measurement("deletes", "t", 30.0, unsatisfiable="operations [d] exclude an insert (c)")
    health = latency_verdict(m, 5000)
    assert (health.state, health.healthy, health.severe) == ("unsatisfiable", False, False)
    assert health.says.endswith("operations [d] exclude an insert (c)")


def test_not_sent_warns_and_a_refusal_fails() -> None:
    skipped = Measurement("r", "t", 30.0, "id", skipped="cluster c is stopped: no canary sent")
    assert latency_verdict(skipped, 5000).severe is False
    refused = Measurement("r", "t", 30.0, "id", api_error="500: internal error")
    health = latency_verdict(refused, 5000)
    assert (health.state, health.severe) == ("api failed", True)
    assert "did not take canary id: 500: internal error" in health.says
