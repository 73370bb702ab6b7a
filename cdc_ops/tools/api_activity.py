"""Publishes API Gateway's `Count` metric for requests served locally.

In aws API Gateway publishes `AWS/ApiGateway Count` itself; `cdc-ops api serve` does the same
against moto, so the auto-stop decision sees local activity through the very same metric.
Datapoints are batched per second on a background thread; a failed put is logged, never raised.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

# the very metric the auto-stop decision reads
from cdc_ops.cluster.activity import METRIC, NAMESPACE

log = logging.getLogger(__name__)


class ApiActivityPublisher:
    def __init__(self, cloudwatch: Any, api_name: str, interval_s: float = 1.0) -> None:
        self._cloudwatch = cloudwatch
        self._api_name = api_name
        self._interval_s = interval_s
        self._pending = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="api-activity", daemon=True)
        self.published = 0

    def start(self) -> ApiActivityPublisher:
        self._thread.start()
        return self

    def record(self) -> None:
        with self._lock:
            self._pending += 1

    def flush(self) -> None:
        with self._lock:
            count, self._pending = self._pending, 0
        if not count:
            return
        try:
            self._cloudwatch.put_metric_data(
                Namespace=NAMESPACE,
                MetricData=[
                    {
                        "MetricName": METRIC,
                        "Dimensions": [{"Name": "ApiName", "Value": self._api_name}],
                        "Timestamp": datetime.now(UTC),
                        "Value": float(count),
                        "Unit": "Count",
                    }
                ],
            )
            self.published += count
        except Exception:  # noqa: BLE001 - activity reporting must never break serving
            log.exception("could not publish %d request(s) to %s %s", count, NAMESPACE, METRIC)

    def _run(self) -> None:
        while not self._stopped.wait(self._interval_s):
            self.flush()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()
        self.flush()
