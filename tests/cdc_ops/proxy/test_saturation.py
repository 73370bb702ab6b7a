"""Proxy saturation: thresholds (pure), query batching, and the figures' arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cdc_ops.alerts.delivery import Severity
from cdc_ops.proxy.saturation import (
    METRICS,
    CloudWatchProxyReader,
    ProxyFigures,
    figures_from_results,
    metric_queries,
    saturation_alerts,
)
from cdc_ops.settings import Thresholds

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
T = Thresholds()


def figures(**kw: Any) -> ProxyFigures:
    base = dict(
        proxy="p", observed_at=NOW, borrow_latency_ms=5.0, borrowed=1, max_allowed=10, pinned=0
    )
    return ProxyFigures(**(base | kw))


def by_key(alerts) -> dict[str, Severity]:
    return {a.key: a.severity for a in alerts}


def test_quiet_proxy_raises_nothing() -> None:
    assert saturation_alerts([figures()], T) == []
    assert saturation_alerts([figures(borrow_latency_ms=None, borrowed=None)], T) == []


def test_borrow_latency_warns_over_100_ms_and_is_critical_over_1_s() -> None:
    assert saturation_alerts([figures(borrow_latency_ms=100)], T) == []  # "exceeds", not reaches
    assert by_key(saturation_alerts([figures(borrow_latency_ms=150)], T)) == {
        "rds_proxy/p/borrow_latency": Severity.WARNING
    }
    (critical,) = saturation_alerts([figures(borrow_latency_ms=1500, clients_waiting=15)], T)
    assert critical.severity is Severity.CRITICAL
    assert critical.summary == (
        "p: clients wait 1500 ms to borrow a connection (over 1000 ms), 15 client(s) waiting"
    )
    assert critical.values["borrow_latency_ms"] == 1500


def test_borrowed_share_at_80_percent_and_any_pinned_session() -> None:
    alerts = saturation_alerts([figures(borrowed=8, max_allowed=10, pinned=2)], T)
    assert by_key(alerts) == {
        "rds_proxy/p/borrowed_ratio": Severity.WARNING,
        "rds_proxy/p/pinned_sessions": Severity.WARNING,
    }
    assert saturation_alerts([figures(borrowed=7, max_allowed=10)], T) == []


def test_thresholds_come_from_settings() -> None:
    strict = Thresholds(borrow_latency_warn_ms=10, borrow_latency_critical_ms=20)
    assert by_key(saturation_alerts([figures(borrow_latency_ms=25)], strict)) == {
        "rds_proxy/p/borrow_latency": Severity.CRITICAL
    }


def test_newest_value_per_query_and_latency_in_ms() -> None:
    results = [
        {
            "Id": "p0_latency",
            "Timestamps": [NOW - timedelta(minutes=2), NOW],
            "Values": [900_000.0, 250_000.0],
        },
        {"Id": "p0_borrowed", "Timestamps": [NOW], "Values": [9.0]},
        {"Id": "p0_allowed", "Timestamps": [NOW], "Values": [10.0]},
    ]
    (f,) = figures_from_results(["p"], results, NOW)
    assert (f.borrow_latency_ms, f.borrowed_ratio, f.pinned) == (250.0, 0.9, None)


class CountingCloudWatch:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def get_metric_data(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(len(kwargs["MetricDataQueries"]))
        return {"MetricDataResults": []}


def test_one_call_per_500_queries() -> None:
    assert len(metric_queries(["a", "b"], 60)) == 2 * len(METRICS) == 10
    for proxies, calls in ((1, [5]), (100, [500]), (101, [500, 5]), (250, [500, 500, 250])):
        cw = CountingCloudWatch()
        names = [f"proxy-{i}" for i in range(proxies)]
        read = CloudWatchProxyReader(cw, names, 60, 300).read(NOW)
        assert cw.calls == calls and len(read) == proxies
