"""One read of the pipeline: each part is read once, and a part that cannot be read is recorded
as an error, never raised. The Dagster observation, its checks and `cdc-ops status` use the same
reading, so nothing is read twice per tick."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cdc_ops.alerts.delivery import Scrubber
from cdc_ops.cluster.connector_hold import held_on_purpose
from cdc_ops.cluster.state import ClusterState
from cdc_ops.connector.backends import ConnectorStatus
from cdc_ops.filters.compiler import statement_name
from cdc_ops.filters.files import FILTERS_FILE
from cdc_ops.filters.model import load_filters
from cdc_ops.flink.runtime import StatementRuntime
from cdc_ops.flink.statements import StatementState
from cdc_ops.health.verdicts import (
    Health,
    cluster_health,
    connector_health,
    group_health,
    on_purpose,
    proxy_health,
    slot_health,
    statement_health,
    stopped_on_purpose,
    topic_health,
    unreadable,
)
from cdc_ops.kafka.groups import GroupLag, group_lag
from cdc_ops.kafka.topics import TopicState, pipeline_topics
from cdc_ops.proxy.saturation import ProxyFigures
from cdc_ops.settings import Settings
from cdc_ops.slot.reading import SlotState, observe_slot

if TYPE_CHECKING:
    from cdc_ops.adapters import Adapters

CLUSTER, PROXY, SLOT, CONNECTOR = "cluster", "proxy", "slot", "connector"
TOPIC, STATEMENT, GROUP = "topic", "statement", "consumer group"
PARTS = (CLUSTER, PROXY, SLOT, CONNECTOR, TOPIC, STATEMENT, GROUP)


@dataclass
class PipelineReading:
    at: datetime
    cluster: ClusterState | None = None
    proxies: list[ProxyFigures] | None = None
    slot: SlotState | None = None
    connector: ConnectorStatus | None = None
    topics: list[TopicState] | None = None
    statements: list[StatementState] | None = None
    groups: list[GroupLag] | None = None
    errors: dict[str, str] = field(default_factory=dict)  # part -> what went wrong


def statement_names() -> list[str]:
    """The statements filters.yaml asks for (its active filters)."""
    return [statement_name(f) for f in load_filters(FILTERS_FILE).active]


def read_pipeline(
    adapters: Adapters,
    parts: Iterable[str] = PARTS,
    statements: list[str] | None = None,
    topics: list[str] | None = None,
    now: datetime | None = None,
) -> PipelineReading:
    """Read each asked-for part once. `statements` and `topics`: which ones (default: those of
    filters.yaml and of the settings)."""
    settings = adapters.settings
    reading = PipelineReading(now or adapters.clock())
    wanted = set(parts)

    def read(part: str) -> None:
        if part == CLUSTER:
            reading.cluster = adapters.cluster_observer.observe()
        elif part == PROXY:
            reading.proxies = adapters.proxy_reader.read(reading.at)
        elif part == SLOT:
            reading.slot = observe_slot(settings)
        elif part == CONNECTOR:
            reading.connector = adapters.connector_backend.status()
        elif part == TOPIC:
            names = topics if topics is not None else settings.names.topics
            reading.topics = adapters.topic_admin(timeout_s=5).describe(names)
        elif part == STATEMENT:
            names = statements if statements is not None else statement_names()
            backend = adapters.statement_backend
            scrub = Scrubber(settings.secret_values())  # once per read, not per statement
            reading.statements = [with_runtime(adapters, backend.status(n), scrub) for n in names]
        elif part == GROUP:
            have = adapters.topic_admin(timeout_s=5).existing()  # one listing for every group
            reading.groups = [group_lag(settings, c, have) for c in settings.consumers.consumers]

    for part in PARTS:
        if part in wanted:
            try:
                read(part)
            except Exception as exc:  # noqa: BLE001 - an unreadable part is itself the finding
                # shown in Dagster metadata and check text: no secret (a URL's password) in it
                scrub = Scrubber(settings.secret_values())
                reading.errors[part] = scrub(f"{type(exc).__name__}: {exc}")[:300]
    return reading


def with_runtime(
    adapters: Adapters, state: StatementState, scrub: Scrubber | None = None
) -> StatementState:
    """The state with what its job is doing. A runtime that cannot be read leaves the statement
    readable: its figures are then unknown, with the reason."""
    # shown in metadata and check text: Flink's exceptions can quote the job's configuration
    scrub = scrub or Scrubber(adapters.settings.secret_values())
    try:
        runtime = adapters.statement_runtime.read(state)
    except Exception as exc:  # noqa: BLE001 - the statement's state stands without its figures
        why = scrub(f"the job's runtime could not be read: {type(exc).__name__}: {exc}")[:300]
        return replace(state, runtime=StatementRuntime.none(why, state.job_id))
    runtime = replace(
        runtime,
        last_exception=None if runtime.last_exception is None else scrub(runtime.last_exception),
        unavailable={k: scrub(v) for k, v in runtime.unavailable.items()},
    )
    return replace(state, runtime=runtime)


def cluster_or_none(adapters: Adapters) -> ClusterState | None:
    """The cluster, for judging whether a part is down on purpose; None when it cannot be read
    (the parts are then judged as if it were not)."""
    try:
        return adapters.cluster_observer.observe()
    except Exception:  # noqa: BLE001 - unknown is not "stopped on purpose"
        return None


def merged(readings: Iterable[PipelineReading]) -> PipelineReading:
    """Readings of different parts (taken by different steps of one run) as one."""
    out: PipelineReading | None = None
    for r in readings:
        if out is None:
            out = PipelineReading(r.at, errors=dict(r.errors))
        for name in ("cluster", "proxies", "slot", "connector", "statements", "groups"):
            if getattr(r, name) is not None:
                setattr(out, name, getattr(r, name))
        if r.topics is not None:
            out.topics = [*(out.topics or []), *r.topics]
        for part, error in r.errors.items():
            if part == TOPIC and part in out.errors and error not in out.errors[part]:
                error = f"{out.errors[part]}; {error}"
            out.errors[part] = error
    return out or PipelineReading(datetime.now(UTC))


def expected_partitions(settings: Settings, topic: str) -> int:
    by_name = {t.name: t.partitions for t in pipeline_topics(settings)}
    return by_name.get(topic, settings.names.filtered_topic_partitions)


def on_purpose_reasons(cluster: ClusterState | None) -> dict[str, str]:
    """Part -> why it is down on purpose: while cdc-ops keeps the cluster stopped, the slot, the
    connector and the consumer groups; while the connector waits, stopped by cdc-ops, for the
    cluster to be back, the connector."""
    stopped = stopped_on_purpose(cluster)
    if stopped:
        # the proxy too: its clients wait for the database cdc-ops stopped
        return {PROXY: stopped, SLOT: stopped, CONNECTOR: stopped, GROUP: stopped}
    held = held_on_purpose(cluster)
    return {CONNECTOR: held} if held else {}


def health_rows(reading: PipelineReading, settings: Settings) -> list[Health]:
    """One row per component read, in the pipeline's order; an unreadable part is one red row.
    A part down because cdc-ops stopped the cluster on purpose warns and says so."""
    why = on_purpose_reasons(reading.cluster)
    return [on_purpose(row, why.get(row.part)) for row in _rows(reading, settings)]


def _rows(reading: PipelineReading, settings: Settings) -> list[Health]:
    t = settings.thresholds
    rows: list[Health] = []
    for part in PARTS:
        if part in reading.errors:
            rows.append(unreadable(part, reading.errors[part]))
        elif part == CLUSTER and reading.cluster is not None:
            rows.append(cluster_health(reading.cluster))
        elif part == PROXY and reading.proxies is not None:
            rows.extend(proxy_health(reading.proxies, t))
        elif part == SLOT and reading.slot is not None:
            rows.append(slot_health(reading.slot, t))
        elif part == CONNECTOR and reading.connector is not None:
            rows.append(connector_health(reading.connector))
        elif part == TOPIC and reading.topics is not None:
            rows.extend(
                topic_health(s, expected_partitions(settings, s.name)) for s in reading.topics
            )
        elif part == STATEMENT and reading.statements is not None:
            rows.extend(statement_health(s, t) for s in reading.statements)
        elif part == GROUP and reading.groups is not None:
            limit = settings.consumers.lag_warn_messages
            rows.extend(group_health(g, limit) for g in reading.groups)
    return rows


def pipeline_status(adapters: Adapters) -> list[Health]:
    """`cdc-ops status`: the whole pipeline, read once."""
    return health_rows(read_pipeline(adapters), adapters.settings)
