"""The pipeline observation: every component read once per run, and from that one read each
asset's observation and health checks, and `pipeline_health` (the `cdc-ops status` table).

Three observing ops, because the materializable connector and statements sit between their
assets (an op may not be both upstream and downstream of another): the source (cluster, proxy,
slot), the raw topic (with the connector that fills it), and the routes (the statements, the
filtered topics, the consumer groups). The connector and statements are reported from there as
observations and check evaluations of their own assets. `pipeline_health` is materialized last
from what those steps read (and reads only what they did not); its materialization fails while
a part that pages is unhealthy, so Dagster's own status shows red where a check alone would not
(Dagster OSS colours assets by their last materialization or observation, not by their checks).
Observing any single asset reads just its component. With the canary on, its table has a row per
route too: that route's latest latency verdict (`pipeline_latency/<route>`), read back from the
instance ("not measured yet", or stale after two canary intervals, is not healthy).
"""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from dagster import (
    AssetCheckKey,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetObservation,
    Failure,
    MaterializeResult,
    MetadataValue,
    ObserveResult,
    TableColumn,
    TableRecord,
    TableSchema,
    asset,
    multi_observable_source_asset,
)

from assets.cluster import cluster_check_spec, cluster_metadata, cluster_spec
from assets.connector import connector_events
from assets.consumers import group_check_specs, group_specs, lag_metadata
from assets.flink import statement_events
from assets.health import check_result, observed_at
from assets.keys import (
    AURORA_CLUSTER,
    CLUSTER_CHECK,
    GROUP_CHECK,
    PIPELINE_CHECK,
    PIPELINE_HEALTH,
    PROXY_CHECK,
    RDS_PROXY,
    REPLICATION_SLOT,
    SLOT_CHECKS,
    TOPIC_CHECK,
    group_key,
    latency_key,
    topic_key,
)
from assets.latency import latency_rows
from assets.rds_proxy import proxy_check_spec, proxy_metadata, proxy_spec, proxy_verdict
from assets.replication_slot import slot_check_healths, slot_check_specs, slot_metadata, slot_spec
from assets.resources import CdcOpsResource
from assets.topics import topic_check_specs, topic_metadata, topic_specs
from cdc_ops.filters.compiler import statement_name
from cdc_ops.filters.model import Filter
from cdc_ops.health import reading as parts
from cdc_ops.health.reading import (
    PipelineReading,
    expected_partitions,
    health_rows,
    merged,
    on_purpose_reasons,
    read_pipeline,
)
from cdc_ops.health.verdicts import (
    Health,
    cluster_health,
    group_health,
    on_purpose,
    slot_health,
    topic_health,
    unreadable,
)
from cdc_ops.settings import Settings

SOURCE_OBSERVER, RAW_OBSERVER, ROUTES_OBSERVER = (
    "observe_source",
    "observe_raw_topic",
    "observe_routes",
)
# the tag on every run that computes pipeline_health: healthy or unhealthy
HEALTH_TAG = "cdc-ops/health"

STATUS_SCHEMA = TableSchema(
    columns=[
        TableColumn("part", "string"),
        TableColumn("name", "string"),
        TableColumn("state", "string"),
        TableColumn("healthy", "bool"),
        TableColumn("figure", "string"),
        TableColumn("says", "string"),
    ]
)

# What the earlier steps of a run read, for pipeline_health in its last step. The observe job
# runs in one process (in_process_executor), and the last step depends on the others through
# pipeline_health's deps, so it runs after them and finds their readings here.
_RUN_READINGS: dict[str, list[PipelineReading]] = {}


def pipeline_summary(rows: list[Health]) -> str:
    bad = [r for r in rows if not r.healthy]
    if not bad:
        return f"all {len(rows)} parts healthy"
    return f"{len(bad)} of {len(rows)} parts unhealthy: " + "; ".join(r.says for r in bad)


def pipeline_verdict(rows: list[Health]) -> Health:
    bad = [r for r in rows if not r.healthy]
    state = "unhealthy" if bad else "healthy"
    severe = any(r.severe for r in bad)
    return Health("pipeline", "pipeline", state, not bad, pipeline_summary(rows), severe=severe)


def pipeline_health_metadata(rows: list[Health], at: datetime) -> dict[str, Any]:
    return {
        "status": MetadataValue.table(
            records=[TableRecord(r.as_dict()) for r in rows], schema=STATUS_SCHEMA
        ),
        "unhealthy": MetadataValue.int(sum(not r.healthy for r in rows)),
        "parts": MetadataValue.int(len(rows)),
        "summary": pipeline_summary(rows),
        **observed_at(at),
    }


class _Yield:
    """An event the op yields (an ObserveResult or a check result it defines); every other
    event (the connector's and statements' observations and checks) is logged."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _emit(context: AssetExecutionContext, events: Iterator[Any]) -> Iterator[Any]:
    for event in events:
        if isinstance(event, _Yield):
            yield event.value
        else:
            context.log_event(event)


class _Selection:
    def __init__(self, context: AssetExecutionContext) -> None:
        self.keys = set(context.selected_asset_keys)
        self.checks = set(context.selected_asset_check_keys)
        self.targets = self.keys | {c.asset_key for c in self.checks}

    def observe(self, key: AssetKey, metadata: dict[str, Any]) -> Iterator[_Yield]:
        if key in self.keys:
            yield _Yield(ObserveResult(asset_key=key, metadata=metadata))

    def check(self, key: AssetKey, name: str, health: Health) -> Iterator[_Yield]:
        if AssetCheckKey(key, name) in self.checks:
            yield _Yield(check_result(key, name, health))


def _failed(reading: PipelineReading, part: str) -> Health | None:
    return unreadable(part, reading.errors[part]) if part in reading.errors else None


def _error_metadata(health: Health, at: datetime) -> dict[str, Any]:
    """An unreadable component is still observed: its metadata says why it could not be read."""
    return {"state": "error", "health": health.says, **observed_at(at)}


def _source_events(r: PipelineReading, settings: Settings, sel: _Selection) -> Iterator[Any]:
    at, t = r.at, settings.thresholds
    if parts.CLUSTER in r.errors or r.cluster is not None:
        health = _failed(r, parts.CLUSTER) or cluster_health(r.cluster)
        metadata = cluster_metadata(r.cluster, at) if r.cluster else _error_metadata(health, at)
        yield from sel.observe(AURORA_CLUSTER, metadata)
        yield from sel.check(AURORA_CLUSTER, CLUSTER_CHECK, health)
    if parts.PROXY in r.errors or r.proxies:
        why = on_purpose_reasons(r.cluster).get(parts.PROXY)
        health = on_purpose(_failed(r, parts.PROXY) or proxy_verdict(r.proxies, t), why)
        metadata = proxy_metadata(r.proxies, t, at) if r.proxies else _error_metadata(health, at)
        yield from sel.observe(RDS_PROXY, metadata)
        yield from sel.check(RDS_PROXY, PROXY_CHECK, health)
    if parts.SLOT in r.errors or r.slot is not None:
        slot = r.slot
        why = on_purpose_reasons(r.cluster).get(parts.SLOT)
        health = on_purpose(_failed(r, parts.SLOT) or slot_health(slot, t), why)
        yield from sel.observe(
            REPLICATION_SLOT, slot_metadata(slot, t, at) if slot else _error_metadata(health, at)
        )
        checks = slot_check_healths(slot, t) if slot else {}
        for name in SLOT_CHECKS:
            yield from sel.check(REPLICATION_SLOT, name, on_purpose(checks.get(name, health), why))


def _topic_events(
    r: PipelineReading, settings: Settings, sel: _Selection, names: list[str]
) -> Iterator[Any]:
    states = {s.name: s for s in r.topics or []}
    for name in names:
        state = states.get(name)
        if state is None and parts.TOPIC not in r.errors:
            continue
        key = topic_key(name)
        if state is None:
            health = unreadable(parts.TOPIC, r.errors[parts.TOPIC])
            yield from sel.observe(key, _error_metadata(health, r.at))
        else:
            health = topic_health(state, expected_partitions(settings, name))
            yield from sel.observe(key, topic_metadata(state, settings, r.at))
        yield from sel.check(key, TOPIC_CHECK, health)


def _group_events(r: PipelineReading, settings: Settings, sel: _Selection) -> Iterator[Any]:
    limit = settings.consumers.lag_warn_messages
    why = on_purpose_reasons(r.cluster).get(parts.GROUP)
    lags = {g.group: g for g in r.groups or []}
    for spec in settings.consumers.consumers:
        g = lags.get(spec.group)
        if g is None and parts.GROUP not in r.errors:
            continue
        key = group_key(spec.group)
        health = on_purpose(_failed(r, parts.GROUP) or group_health(g, limit), why)
        yield from sel.observe(
            key, lag_metadata(g, settings, r.at) if g else _error_metadata(health, r.at)
        )
        yield from sel.check(key, GROUP_CHECK, health)


def _with_cluster(wanted: set[str]) -> set[str]:
    """The proxy's, slot's, connector's and groups' checks depend on whether cdc-ops stopped the
    cluster on purpose: they are read with the cluster."""
    if wanted & {parts.PROXY, parts.SLOT, parts.CONNECTOR, parts.GROUP}:
        return wanted | {parts.CLUSTER}
    return wanted


def _parts_for(targets: set[AssetKey]) -> set[str]:
    wanted = set()
    for key in targets:
        if key == AURORA_CLUSTER:
            wanted.add(parts.CLUSTER)
        elif key == RDS_PROXY:
            wanted.add(parts.PROXY)
        elif key == REPLICATION_SLOT:
            wanted.add(parts.SLOT)
        elif key.path[0] == "kafka_topics":
            wanted.add(parts.TOPIC)
        elif key.path[0] == "consumer_groups":
            wanted.add(parts.GROUP)
    return wanted


def build_pipeline_observers(settings: Settings, filters: list[Filter]) -> list:
    raw_name, *filtered_names = settings.names.topics
    raw_spec, *filtered_specs = topic_specs(settings, filters)
    raw_check, *filtered_checks = topic_check_specs(settings)
    statements = [statement_name(f) for f in filters]
    groups = [group_key(c.group) for c in settings.consumers.consumers]

    def remember(context: AssetExecutionContext, reading: PipelineReading) -> None:
        # only for a run whose last step builds pipeline_health (it takes them back)
        selection = context.run.asset_selection
        if selection is None or PIPELINE_HEALTH in selection:
            _RUN_READINGS.setdefault(context.run.run_id, []).append(reading)

    @multi_observable_source_asset(
        specs=[cluster_spec, proxy_spec, slot_spec],
        check_specs=[cluster_check_spec, proxy_check_spec, *slot_check_specs],
        can_subset=True,
        name=SOURCE_OBSERVER,
    )
    def observe_source(context: AssetExecutionContext, cdc_ops: CdcOpsResource):
        current = cdc_ops.settings
        sel = _Selection(context)
        reading = read_pipeline(cdc_ops.adapters, _with_cluster(_parts_for(sel.targets)))
        remember(context, reading)
        yield from _emit(context, _source_events(reading, current, sel))

    @multi_observable_source_asset(
        specs=[raw_spec], check_specs=[raw_check], can_subset=True, name=RAW_OBSERVER
    )
    def observe_raw_topic(context: AssetExecutionContext, cdc_ops: CdcOpsResource):
        current = cdc_ops.settings
        sel = _Selection(context)
        reading = read_pipeline(
            cdc_ops.adapters, _with_cluster({parts.CONNECTOR, parts.TOPIC}), topics=[raw_name]
        )
        remember(context, reading)
        events = []
        if reading.connector is not None:  # the connector that fills the raw topic, as it is now
            why = on_purpose_reasons(reading.cluster).get(parts.CONNECTOR)
            events += connector_events(reading.connector, reading.at, on_purpose=why)
        yield from _emit(context, iter(events))
        yield from _emit(context, _topic_events(reading, current, sel, [raw_name]))

    @multi_observable_source_asset(
        specs=[*filtered_specs, *group_specs(settings)],
        check_specs=[*filtered_checks, *group_check_specs(settings)],
        can_subset=True,
        name=ROUTES_OBSERVER,
    )
    def observe_routes(context: AssetExecutionContext, cdc_ops: CdcOpsResource):
        current = cdc_ops.settings
        sel = _Selection(context)
        wanted = _parts_for(sel.targets)
        if len(sel.keys) == len(filtered_specs) + len(groups):  # the whole step: the job's run
            wanted.add(parts.STATEMENT)
        reading = read_pipeline(
            cdc_ops.adapters, _with_cluster(wanted), statements=statements, topics=filtered_names
        )
        remember(context, reading)
        events: list[Any] = []
        for s in reading.statements or []:  # the statements that fill these topics, as they are
            events += statement_events(s, reading.at, current.thresholds)
        yield from _emit(context, iter(events))
        yield from _emit(context, _topic_events(reading, current, sel, filtered_names))
        yield from _emit(context, _group_events(reading, current, sel))

    @asset(
        key=PIPELINE_HEALTH,
        # the leaves of the graph: one from each observing step, so this one runs after them;
        # and the canary's latency per route, which it shows as last measured
        deps=[RDS_PROXY, raw_spec.key, *groups, *(latency_key(f.name) for f in filters)],
        group_name="health",
        description="The whole pipeline in one table (the rows of `cdc-ops status`), from one "
        "read of every component. Its materialization fails while a part that pages is "
        "unhealthy, so the Catalog, the Lineage and the Runs show it red.",
        check_specs=[
            AssetCheckSpec(
                PIPELINE_CHECK,
                asset=PIPELINE_HEALTH,
                description="Every component of the pipeline is healthy (ERROR when one that "
                "pages is not, WARN when only lag or a transition cdc-ops began).",
            )
        ],
    )
    def pipeline_health(context: AssetExecutionContext, cdc_ops: CdcOpsResource):
        current = cdc_ops.settings
        # what the observing steps of this run read, and anything they did not, read now once
        have = merged(_RUN_READINGS.pop(context.run.run_id, []))
        missing = {
            part
            for part, value in [
                (parts.CLUSTER, have.cluster),
                (parts.PROXY, have.proxies),
                (parts.SLOT, have.slot),
                (parts.CONNECTOR, have.connector),
                (parts.STATEMENT, have.statements),
                (parts.GROUP, have.groups),
            ]
            if value is None and part not in have.errors
        }
        read_topics = {t.name for t in have.topics or []}
        unread = [t for t in current.names.topics if t not in read_topics]
        if unread and parts.TOPIC not in have.errors:
            missing.add(parts.TOPIC)
        extra = read_pipeline(cdc_ops.adapters, missing, statements=statements, topics=unread)
        reading = merged([have, extra])
        reading.topics = sorted(
            reading.topics or [], key=lambda t: current.names.topics.index(t.name)
        )
        rows = health_rows(reading, current)
        if current.canary.enabled:  # the canary's latest verdict per route (it is not re-sent)
            routes = [f.name for f in filters]
            rows += latency_rows(context.instance, routes, current, reading.at)
        verdict = pipeline_verdict(rows)
        metadata = pipeline_health_metadata(rows, reading.at)
        context.log.info(verdict.says)
        context.instance.add_run_tags(
            context.run.run_id, {HEALTH_TAG: "healthy" if verdict.healthy else "unhealthy"}
        )
        table = {"status": metadata["status"]}
        if verdict.healthy or not verdict.severe:
            yield MaterializeResult(metadata=metadata)
            yield check_result(PIPELINE_HEALTH, PIPELINE_CHECK, verdict, table)
            return
        # unhealthy: the table as an observation (it is what the asset shows now), the failed
        # check, and a failed materialization with what is wrong
        context.log_event(AssetObservation(asset_key=PIPELINE_HEALTH, metadata=metadata))
        yield check_result(PIPELINE_HEALTH, PIPELINE_CHECK, verdict, table)
        raise Failure(description=verdict.says, metadata=table)

    return [observe_source, observe_raw_topic, observe_routes, pipeline_health]
