"""Debezium's connector metrics (its JMX MBeans) read through the worker's Jolokia JVM agent.

Debezium's PostgreSQL connector registers two MBeans while its task runs, and unregisters them
when the task stops (a stopped, failed or not yet started connector has none; a paused one keeps
them):
  debezium.postgres:type=connector-metrics,context=streaming,server=<topic.prefix>
  debezium.postgres:type=connector-metrics,context=snapshot,server=<topic.prefix>
Other key properties may join those (`task=` for connectors that run one task per database,
custom metric tags), so both are read by pattern and matched on `context` and `server`.

One bulk POST of two pattern reads; `metrics_from_jolokia` maps Jolokia's answer to
`ConnectorMetrics` without I/O. Nothing here raises on what the agent answers or fails to: a
figure that cannot be had is None, with the reason in `unavailable`.
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cdc_ops.connector.metrics import ConnectorMetrics

DOMAIN = "debezium.postgres"
SOURCE = "jolokia"

# JMX attribute -> ConnectorMetrics field it fills (RowsScanned and the chunk's five are folded)
STREAMING_ATTRIBUTES = {
    "Connected": "connected",
    "MilliSecondsBehindSource": "ms_behind_source",
    "TotalNumberOfEventsSeen": "total_events_seen",
    "LastEvent": "last_event",
}
SNAPSHOT_ATTRIBUTES = {
    "SnapshotRunning": "snapshot_running",
    "SnapshotCompleted": "snapshot_completed",
    "SnapshotSkipped": "snapshot_completed",
    "SnapshotAborted": "snapshot_aborted",
    "RemainingTableCount": "snapshot_remaining_tables",
    "RowsScanned": "snapshot_rows_scanned",
    "ChunkId": "snapshot_chunk",
    "ChunkFrom": "snapshot_chunk",
    "ChunkTo": "snapshot_chunk",
    "TableFrom": "snapshot_chunk",
    "TableTo": "snapshot_chunk",
}
CONTEXTS = {"streaming": STREAMING_ATTRIBUTES, "snapshot": SNAPSHOT_ATTRIBUTES}
# read when there, its absence unremarked: it only qualifies SnapshotCompleted
OPTIONAL = {"SnapshotSkipped"}

Model = TypeVar("Model", bound=BaseModel)

SKIPPED = (
    "SnapshotSkipped: this run of the task took no snapshot (its offsets say an earlier run"
    " did, or snapshot.mode takes none), so whether one completed is not told"
)
NOT_REGISTERED = (
    "Debezium's {context} MBean is not registered: the connector's task is not running"
    " (stopped, failed, or not started yet)"
)


class JolokiaResponse(BaseModel):
    """One response of a Jolokia answer (a bulk answer is a list of them)."""

    model_config = ConfigDict(extra="ignore")

    status: int
    value: Any = None
    error: str | None = None
    error_type: str | None = None
    request: dict[str, Any] = Field(default_factory=dict)


class StreamingAttributes(BaseModel):
    model_config = ConfigDict(extra="ignore")

    connected: bool | None = Field(None, alias="Connected")
    ms_behind_source: int | None = Field(None, alias="MilliSecondsBehindSource")
    total_events_seen: int | None = Field(None, alias="TotalNumberOfEventsSeen")
    last_event: str | None = Field(None, alias="LastEvent")


class SnapshotAttributes(BaseModel):
    model_config = ConfigDict(extra="ignore")

    running: bool | None = Field(None, alias="SnapshotRunning")
    completed: bool | None = Field(None, alias="SnapshotCompleted")
    skipped: bool | None = Field(None, alias="SnapshotSkipped")
    aborted: bool | None = Field(None, alias="SnapshotAborted")
    remaining_tables: int | None = Field(None, alias="RemainingTableCount")
    # table -> rows read so far; Jolokia renders the MXBean's Map<String, Long> as an object
    rows_scanned: dict[str, int] | None = Field(None, alias="RowsScanned")
    chunk_id: str | None = Field(None, alias="ChunkId")
    chunk_from: str | None = Field(None, alias="ChunkFrom")
    chunk_to: str | None = Field(None, alias="ChunkTo")
    table_from: str | None = Field(None, alias="TableFrom")
    table_to: str | None = Field(None, alias="TableTo")


def read_requests() -> list[dict[str, Any]]:
    """The bulk of read requests `metrics_from_jolokia` expects the answer to."""
    return [
        {
            "type": "read",
            "mbean": f"{DOMAIN}:type=connector-metrics,context={context},*",
            "attribute": list(attributes),
            # an attribute whose getter throws comes back as an error object, the others read
            "config": {"ignoreErrors": "true"},
        }
        for context, attributes in CONTEXTS.items()
    ]


def parse_object_name(name: str) -> tuple[str, dict[str, str]]:
    """An ObjectName's domain and key properties, quoted values unquoted."""
    domain, _, rest = name.partition(":")
    keys: dict[str, str] = {}
    i = 0
    while i < len(rest):
        eq = rest.find("=", i)
        if eq < 0:
            break  # a bare `*` (a pattern) or junk: no more keys
        key = rest[i:eq]
        i = eq + 1
        if rest.startswith('"', i):
            chars = []
            i += 1
            while i < len(rest) and rest[i] != '"':
                if rest[i] == "\\" and i + 1 < len(rest):
                    i += 1
                    chars.append("\n" if rest[i] == "n" else rest[i])
                else:
                    chars.append(rest[i])
                i += 1
            value = "".join(chars)
            i = rest.find(",", i)
        else:
            comma = rest.find(",", i)
            value = rest[i:] if comma < 0 else rest[i:comma]
            i = comma
        keys[key.strip()] = value
        if i < 0:
            break
        i += 1
    return domain, keys


def _responses(answer: Any) -> list[JolokiaResponse]:
    items = answer if isinstance(answer, list) else [answer]
    return [JolokiaResponse.model_validate(item) for item in items]


def _is_pattern(mbean: str) -> bool:
    return "*" in mbean or "?" in mbean


def _mbeans(response: JolokiaResponse) -> dict[str, dict[str, Any]]:
    """ObjectName -> attributes of a successful read: a pattern read maps names to attributes,
    a read of one MBean answers its attributes alone."""
    mbean = str(response.request.get("mbean", ""))
    if not isinstance(response.value, dict):
        return {}
    if _is_pattern(mbean):
        return {k: v for k, v in response.value.items() if isinstance(v, dict)}
    return {mbean: response.value}


def _context_of(response: JolokiaResponse) -> str | None:
    mbean = str(response.request.get("mbean", ""))
    return parse_object_name(mbean)[1].get("context")


def _validated(
    model: type[Model], attributes: dict[str, Any], figures: dict[str, str], why: dict[str, str]
) -> Model:
    """The attributes as `model`, each one Jolokia could not read, or of an unexpected type,
    left out with its reason under the figure it fills."""
    clean = {}
    for name, raw in attributes.items():
        if isinstance(raw, dict) and raw.get(".error"):
            figure = figures.get(name, name)
            why[figure] = f"{name}: {raw.get('error') or raw.get('error_type') or 'error'}"
        else:
            clean[name] = raw
    try:
        return model.model_validate(clean)
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0])
            clean.pop(name, None)
            why[figures.get(name, name)] = f"{name}: {error['msg']} (got {error['input']!r})"
        return model.model_validate(clean)


def _chunk(s: SnapshotAttributes) -> str:
    if not s.chunk_id:
        return ""
    # the chunk's id first: readers print it after the word "chunk"
    text = f"{s.chunk_id}: keys {s.chunk_from or '?'} to {s.chunk_to or '?'}"
    if s.table_to:
        text += f" (the table's up to {s.table_to})"
    return text


def metrics_from_jolokia(answer: Any, server_name: str | None = None) -> ConnectorMetrics:
    """ConnectorMetrics from Jolokia's answer to `read_requests()` (a bulk list, or one response,
    such as a read of `debezium.postgres:type=connector-metrics,*`). With `server_name` only the
    MBeans of that `server` (the connector's topic.prefix) count."""
    why: dict[str, str] = {"records_sent": "Debezium's JMX metrics have no such figure"}
    try:
        responses = _responses(answer)
    except ValidationError as exc:
        return ConnectorMetrics(SOURCE, unavailable={"all": f"not a Jolokia answer: {exc}"})

    found: dict[str, dict[str, Any]] = {}  # context -> attributes
    failed: dict[str, str] = {}  # context -> why
    servers: set[str] = set()
    for response in responses:
        context = _context_of(response)
        if response.status != 200:
            reason = (
                NOT_REGISTERED.format(context=context or "connector-metrics")
                if response.status == 404
                else f"Jolokia answered {response.status}: {response.error or response.error_type}"
            )
            for ctx in [context] if context in CONTEXTS else list(CONTEXTS):
                failed.setdefault(ctx, reason)
            continue
        for name, attributes in _mbeans(response).items():
            domain, keys = parse_object_name(name)
            if domain != DOMAIN or keys.get("type") != "connector-metrics":
                continue
            servers.add(keys.get("server", ""))
            if server_name is not None and keys.get("server") != server_name:
                continue
            if keys.get("context") in CONTEXTS:
                found.setdefault(keys["context"], {}).update(attributes)

    for context, figures in CONTEXTS.items():
        if context in found:
            # a pattern read leaves out what an MBean does not have
            for name, figure in figures.items():
                if name not in found[context] and name not in OPTIONAL:
                    why.setdefault(figure, f"{name}: not published by this Debezium")
            continue
        if context in failed:
            reason = failed[context]
        elif servers and server_name is not None:
            reason = (
                f"no {context} MBean for server={server_name}; Jolokia has"
                f" server={', '.join(sorted(servers))}"
            )
        else:
            reason = NOT_REGISTERED.format(context=context)
        for figure in figures.values():
            why[figure] = reason

    streaming = _validated(
        StreamingAttributes, found.get("streaming", {}), STREAMING_ATTRIBUTES, why
    )
    snapshot = _validated(SnapshotAttributes, found.get("snapshot", {}), SNAPSHOT_ATTRIBUTES, why)
    rows = snapshot.rows_scanned
    completed = snapshot.completed
    # Debezium's SnapshotCompleted is false in a run that skipped the snapshot: no pending one
    if snapshot.skipped and not completed:
        completed = None
        why["snapshot_completed"] = SKIPPED
    return ConnectorMetrics(
        SOURCE,
        connected=streaming.connected,
        ms_behind_source=streaming.ms_behind_source,
        total_events_seen=streaming.total_events_seen,
        last_event=streaming.last_event or "",
        snapshot_running=snapshot.running,
        snapshot_completed=completed,
        snapshot_aborted=snapshot.aborted,
        snapshot_remaining_tables=snapshot.remaining_tables,
        snapshot_rows_scanned=sum(rows.values()) if rows is not None else None,
        snapshot_chunk=_chunk(snapshot),
        unavailable=why,
    )


class DebeziumJolokiaMetrics:
    """The ConnectorMetricsReader of a Kafka Connect worker that runs the Jolokia JVM agent."""

    def __init__(
        self, jolokia_url: str, server_name: str, http: httpx.Client | None = None
    ) -> None:
        self._url = jolokia_url.rstrip("/")
        self._server = server_name
        # metrics are read by sensors on a schedule: a silent agent must not hold one up
        self._http = http or httpx.Client(timeout=5)

    def read(self) -> ConnectorMetrics:
        try:
            response = self._http.post(self._url, json=read_requests())
        except httpx.HTTPError as exc:
            return self._unavailable(f"{type(exc).__name__}: {exc}" if str(exc) else repr(exc))
        if response.status_code != 200:
            return self._unavailable(f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            answer = response.json()
        except ValueError:
            return self._unavailable(f"not JSON: {response.text[:200]!r}")
        return metrics_from_jolokia(answer, self._server)

    def _unavailable(self, why: str) -> ConnectorMetrics:
        return ConnectorMetrics(
            SOURCE, unavailable={"all": f"the Jolokia agent at {self._url} did not answer: {why}"}
        )
