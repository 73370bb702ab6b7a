"""API activity for the auto-stop decision: `AWS/ApiGateway Count` in one GetMetricData call.

API Gateway publishes no datapoint for a period without requests, so "no datapoints" means "no
requests". A read that fails or comes back partial is reported as such; the decision then keeps
the cluster running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

NAMESPACE = "AWS/ApiGateway"
METRIC = "Count"


@dataclass(frozen=True)
class Activity:
    start: datetime
    end: datetime
    # (period start, requests in that period), newest first
    datapoints: list[tuple[datetime, float]] = field(default_factory=list)
    complete: bool = True
    error: str | None = None

    @property
    def requests(self) -> float:
        return sum(value for _, value in self.datapoints)

    @property
    def last_seen(self) -> datetime | None:
        active = [ts for ts, value in self.datapoints if value > 0]
        return max(active) if active else None


def window_start(end: datetime, window: timedelta, period_s: int) -> datetime:
    """The window's start, moved back to a period boundary so that the period holding the
    window's first moment is read too (errs towards seeing activity)."""
    start = end - window
    epoch = int(start.timestamp())
    return datetime.fromtimestamp(epoch - epoch % period_s, tz=start.tzinfo)


class ApiActivityReader:
    def __init__(self, cloudwatch: Any, api_name: str, period_s: int) -> None:
        self._cloudwatch = cloudwatch
        self._api_name = api_name
        self._period_s = period_s

    def read(self, end: datetime, window: timedelta) -> Activity:
        start = window_start(end, window, self._period_s)
        try:
            answer = self._cloudwatch.get_metric_data(
                MetricDataQueries=[
                    {
                        "Id": "requests",
                        "MetricStat": {
                            "Metric": {
                                "Namespace": NAMESPACE,
                                "MetricName": METRIC,
                                "Dimensions": [{"Name": "ApiName", "Value": self._api_name}],
                            },
                            "Period": self._period_s,
                            "Stat": "Sum",
                        },
                        "ReturnData": True,
                    }
                ],
                StartTime=start,
                EndTime=end,
                ScanBy="TimestampDescending",
            )
        except Exception as exc:  # noqa: BLE001 - any failure to read is a reason to keep running
            return Activity(start, end, complete=False, error=f"{type(exc).__name__}: {exc}")
        results = answer.get("MetricDataResults", [])
        if not results:
            return Activity(start, end, complete=False, error="GetMetricData returned no result")
        result = results[0]
        points = list(zip(result.get("Timestamps", []), result.get("Values", []), strict=False))
        complete = result.get("StatusCode") == "Complete" and not answer.get("NextToken")
        return Activity(start, end, points, complete=complete)
