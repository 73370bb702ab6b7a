"""A managed connector's figures from Confluent Cloud's Metrics API (v2), with a Cloud API key.

One query (POST /v2/metrics/cloud/query, the `cloud` dataset: the document's only one) for
`io.confluent.kafka.connect/sent_records`, filtered on the connector's resource label
`resource.connector.id` (its lcc- id). The metric is a COUNTER: each one-minute sample counts the
records the source connector wrote to Kafka since the previous one, and a query sums the samples
of its interval. So it gives `records_sent` over a window, not a running total: Debezium's
TotalNumberOfEventsSeen (`total_events_seen`, which `events_per_second` differences) stays None.
The API publishes nothing else Debezium's MBeans tell: no lag, no connection, no snapshot.

It never raises: a refused or failed query puts its error against every figure in `unavailable`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from cdc_ops.connector.metrics import ConnectorMetrics

SOURCE = "confluent metrics api"
SENT_RECORDS = "io.confluent.kafka.connect/sent_records"
# "Metric data points are typically available for query in the API within 5 minutes"
LATENCY = timedelta(minutes=5)

_NO_SNAPSHOT = "Confluent Cloud's Metrics API publishes no snapshot progress for managed connectors"
_NOT_PUBLISHED = {
    "connected": (
        "Confluent Cloud's Metrics API publishes no database connection state for managed"
        " connectors (the Connect API's status is the nearest)"
    ),
    "ms_behind_source": (
        "Confluent Cloud's Metrics API publishes no lag behind source for managed connectors"
    ),
    "total_events_seen": (
        "Confluent Cloud's Metrics API counts sent_records per one-minute sample, not since the"
        " task started; records_sent holds their sum over the window"
    ),
    "last_event": "Confluent Cloud's Metrics API publishes no last event for managed connectors",
    "snapshot_running": _NO_SNAPSHOT,
    "snapshot_completed": _NO_SNAPSHOT,
    "snapshot_aborted": _NO_SNAPSHOT,
    "snapshot_remaining_tables": _NO_SNAPSHOT,
    "snapshot_rows_scanned": _NO_SNAPSHOT,
    "snapshot_chunk": _NO_SNAPSHOT,
}
FIGURES = tuple(
    f.name for f in dataclasses.fields(ConnectorMetrics) if f.name not in ("source", "unavailable")
)


class _Point(BaseModel):
    """Point: `timestamp` and `value` required; an attribute per group_by label besides."""

    model_config = ConfigDict(extra="allow")
    timestamp: datetime
    value: float


class _FlatQueryResponse(BaseModel):
    data: list[_Point]


class _ErrorItem(BaseModel):
    status: str | None = None
    code: str | None = None
    detail: str | None = None


class _ErrorResponse(BaseModel):
    errors: list[_ErrorItem]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ConfluentConnectorMetrics:
    """`read()`: the records a managed connector sent over the last `window`, as the Metrics
    API counted them (the window ends `LATENCY` before now, so it holds complete samples)."""

    def __init__(
        self,
        metrics_url: str,
        connector_id: str,
        api_key: str,
        api_secret: str,
        http: httpx.Client | None = None,
        clock: Callable[[], datetime] = _utc_now,
        window: timedelta = timedelta(minutes=15),
    ) -> None:
        self._url = f"{metrics_url.rstrip('/')}/v2/metrics/cloud/query"
        self._connector_id = connector_id
        self._secrets = tuple(s for s in (api_key, api_secret) if s)
        self._http = http or httpx.Client(timeout=15, auth=httpx.BasicAuth(api_key, api_secret))
        self._clock = clock
        self._window = window

    def _query(self) -> dict[str, object]:
        """The QueryRequest: one aggregation (the most the document allows), its `agg` left out
        as the document advises so the metric's own applies, one bucket for the window."""
        end = self._clock().astimezone(UTC).replace(second=0, microsecond=0) - LATENCY
        start = end - self._window
        return {
            "aggregations": [{"metric": SENT_RECORDS}],
            "filter": {"field": "resource.connector.id", "op": "EQ", "value": self._connector_id},
            "granularity": "ALL",
            "intervals": [f"{_iso(start)}/{_iso(end)}"],
        }

    def read(self) -> ConnectorMetrics:
        try:
            # the document: a resource may answer with a redirect, which clients must follow
            response = self._http.post(self._url, json=self._query(), follow_redirects=True)
        except httpx.HTTPError as exc:
            return self._failed(f"POST {self._url}: {type(exc).__name__}: {exc}")
        if response.status_code >= 400:
            return self._failed(f"POST {self._url}: {response.status_code} {_error(response)}")
        try:
            body = _FlatQueryResponse.model_validate_json(response.content)
        except ValidationError as exc:
            first = exc.errors(include_input=False)[0]
            where = ".".join(map(str, first["loc"])) or "body"
            return self._failed(f"POST {self._url}: unexpected answer ({where}: {first['msg']})")
        # no point at all: the service counted no record in the window
        sent = round(sum(p.value for p in body.data))
        unavailable = {
            f: _NOT_PUBLISHED.get(f, "Confluent Cloud's Metrics API does not publish it")
            for f in FIGURES
            if f != "records_sent"
        }
        return ConnectorMetrics(SOURCE, records_sent=sent, unavailable=unavailable)

    def _failed(self, error: str) -> ConnectorMetrics:
        error = self._scrub(error)
        return ConnectorMetrics(SOURCE, unavailable=dict.fromkeys(FIGURES, error))

    def _scrub(self, text: str) -> str:
        # an error detail may echo what was sent; the key is sent only in the header, but a
        # message must not carry it whatever the service says
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(response: httpx.Response) -> str:
    """ErrorResponse's `errors[].detail`, else the start of the body (a 429 documents none)."""
    try:
        body = _ErrorResponse.model_validate_json(response.content)
    except ValidationError:
        return response.text[:200] or response.reason_phrase
    details = [e.detail or e.code or e.status or "" for e in body.errors]
    return "; ".join(d for d in details if d) or response.reason_phrase
