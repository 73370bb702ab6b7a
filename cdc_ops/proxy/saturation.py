"""RDS Proxy saturation: are clients waiting to borrow a database connection?

The seeds call the signal ConnectionBorrowedWaitTime; CloudWatch publishes it as
`DatabaseConnectionsBorrowLatency` (microseconds). Two readers give the same figures:
CloudWatch (every configured proxy and metric in as few GetMetricData calls as the API allows,
500 queries each) and, locally, PgBouncer's admin console (`SHOW POOLS`). `saturation_alerts`
turns figures into alerts and is pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from cdc_ops.alerts.delivery import Alert, Severity
from cdc_ops.settings import Thresholds

NAMESPACE = "AWS/RDS"
MAX_QUERIES_PER_CALL = 500
# metric -> (query id suffix, statistic). Each is aggregated across the proxy's nodes by
# CloudWatch under the ProxyName dimension; Maximum keeps the worst node visible.
METRICS = {
    "DatabaseConnectionsBorrowLatency": ("latency", "Average"),
    "DatabaseConnectionsCurrentlyBorrowed": ("borrowed", "Maximum"),
    "MaxDatabaseConnectionsAllowed": ("allowed", "Maximum"),
    "DatabaseConnectionsCurrentlySessionPinned": ("pinned", "Maximum"),
    "ClientConnections": ("clients", "Maximum"),
}


@dataclass(frozen=True)
class ProxyFigures:
    proxy: str
    observed_at: datetime
    borrow_latency_ms: float | None = None
    borrowed: float | None = None
    max_allowed: float | None = None
    pinned: float | None = None
    client_connections: float | None = None
    clients_waiting: float | None = None  # PgBouncer only
    source: str = ""

    @property
    def borrowed_ratio(self) -> float | None:
        if self.borrowed is None or not self.max_allowed:
            return None
        return self.borrowed / self.max_allowed

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["observed_at"] = self.observed_at.isoformat()
        out["borrowed_ratio"] = self.borrowed_ratio
        return out


class ProxyReader(Protocol):
    def read(self, now: datetime) -> list[ProxyFigures]: ...


def metric_queries(proxies: Sequence[str], period_s: int) -> list[dict[str, Any]]:
    queries = []
    for i, proxy in enumerate(proxies):
        for metric, (suffix, stat) in METRICS.items():
            queries.append(
                {
                    "Id": f"p{i}_{suffix}",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": NAMESPACE,
                            "MetricName": metric,
                            "Dimensions": [{"Name": "ProxyName", "Value": proxy}],
                        },
                        "Period": period_s,
                        "Stat": stat,
                    },
                    "ReturnData": True,
                }
            )
    return queries


def figures_from_results(
    proxies: Sequence[str], results: Sequence[dict[str, Any]], now: datetime
) -> list[ProxyFigures]:
    """The newest value of every query, per proxy (latency converted from µs to ms)."""
    latest: dict[str, float] = {}
    for result in results:
        points = sorted(
            zip(result.get("Timestamps", []), result.get("Values", []), strict=False), reverse=True
        )
        if points:
            latest[result["Id"]] = points[0][1]
    figures = []
    for i, proxy in enumerate(proxies):
        latency = latest.get(f"p{i}_latency")
        figures.append(
            ProxyFigures(
                proxy=proxy,
                observed_at=now,
                borrow_latency_ms=latency / 1000 if latency is not None else None,
                borrowed=latest.get(f"p{i}_borrowed"),
                max_allowed=latest.get(f"p{i}_allowed"),
                pinned=latest.get(f"p{i}_pinned"),
                client_connections=latest.get(f"p{i}_clients"),
                source="cloudwatch",
            )
        )
    return figures


class CloudWatchProxyReader:
    def __init__(
        self, cloudwatch: Any, proxies: Sequence[str], period_s: int, lookback_s: int
    ) -> None:
        self._cloudwatch = cloudwatch
        self._proxies = list(proxies)
        self._period_s = period_s
        self._lookback = timedelta(seconds=lookback_s)

    def read(self, now: datetime) -> list[ProxyFigures]:
        queries = metric_queries(self._proxies, self._period_s)
        results: list[dict[str, Any]] = []
        for first in range(0, len(queries), MAX_QUERIES_PER_CALL):
            kwargs: dict[str, Any] = {
                "MetricDataQueries": queries[first : first + MAX_QUERIES_PER_CALL],
                "StartTime": now - self._lookback,
                "EndTime": now,
                "ScanBy": "TimestampDescending",
            }
            while True:  # NextToken only when the answer is too large for one page
                answer = self._cloudwatch.get_metric_data(**kwargs)
                results.extend(answer.get("MetricDataResults", []))
                if not answer.get("NextToken"):
                    break
                kwargs["NextToken"] = answer["NextToken"]
        merged: dict[str, dict[str, Any]] = {}
        for result in results:  # pages repeat ids: join their points
            entry = merged.setdefault(
                result["Id"], {"Id": result["Id"], "Timestamps": [], "Values": []}
            )
            entry["Timestamps"] += result.get("Timestamps", [])
            entry["Values"] += result.get("Values", [])
        return figures_from_results(self._proxies, list(merged.values()), now)


def saturation_alerts(
    figures: Sequence[ProxyFigures], t: Thresholds, runbook: str = ""
) -> list[Alert]:
    """Alerts for every proxy over a threshold (borrow wait, borrowed share, pinned sessions)."""
    alerts = []
    for f in figures:
        base = f"rds_proxy/{f.proxy}"
        values = f.as_dict()
        latency = f.borrow_latency_ms
        if latency is not None and latency > t.borrow_latency_warn_ms:
            critical = latency > t.borrow_latency_critical_ms
            limit = t.borrow_latency_critical_ms if critical else t.borrow_latency_warn_ms
            waiting = f", {f.clients_waiting:g} client(s) waiting" if f.clients_waiting else ""
            alerts.append(
                Alert(
                    "proxy_saturation",
                    f"{base}/borrow_latency",
                    Severity.CRITICAL if critical else Severity.WARNING,
                    f"{f.proxy}: clients wait {latency:.0f} ms to borrow a connection"
                    f" (over {limit:g} ms){waiting}",
                    details="DatabaseConnectionsBorrowLatency (the seeds'"
                    " ConnectionBorrowedWaitTime) is over its threshold: the proxy has no free"
                    " database connection to lend.",
                    values=values,
                    runbook=f"{runbook}#proxy-borrow-latency" if runbook else "",
                )
            )
        ratio = f.borrowed_ratio
        if ratio is not None and ratio >= t.borrowed_ratio_warn:
            alerts.append(
                Alert(
                    "proxy_saturation",
                    f"{base}/borrowed_ratio",
                    Severity.WARNING,
                    f"{f.proxy}: {f.borrowed:g} of {f.max_allowed:g} database connections borrowed"
                    f" ({100 * ratio:.0f} %, warn at {100 * t.borrowed_ratio_warn:.0f} %)",
                    details="DatabaseConnectionsCurrentlyBorrowed / MaxDatabaseConnectionsAllowed.",
                    values=values,
                    runbook=f"{runbook}#proxy-borrowed-ratio" if runbook else "",
                )
            )
        if f.pinned is not None and f.pinned >= t.pinned_sessions_warn:
            alerts.append(
                Alert(
                    "proxy_saturation",
                    f"{base}/pinned_sessions",
                    Severity.WARNING,
                    f"{f.proxy}: {f.pinned:g} session(s) pinned to a database connection",
                    details="DatabaseConnectionsCurrentlySessionPinned > 0: pinned sessions cannot "
                    "share connections (prepared statements, SET, temporary tables, ...).",
                    values=values,
                    runbook=f"{runbook}#proxy-pinned-sessions" if runbook else "",
                )
            )
    return alerts
