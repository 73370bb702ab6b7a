"""`cdc-ops status`: the whole pipeline in one table, from the same readers the Dagster assets
and sensors use. A part that cannot be read is a row in state "error", never a crash."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cdc_ops.settings import Settings


@dataclass(frozen=True)
class Row:
    part: str
    name: str
    state: str
    figure: str
    healthy: bool


def _cluster(settings: Settings) -> list[Row]:
    from cdc_ops.cluster import cluster_observer

    c = cluster_observer(settings).observe()
    return [Row("cluster", c.cluster_id, c.status, c.endpoint, c.status == "available")]


def _proxy(settings: Settings) -> list[Row]:
    from cdc_ops.cluster_control import utc_now
    from cdc_ops.proxy_saturation import proxy_reader, saturation_alerts

    rows = []
    for f in proxy_reader(settings).read(utc_now()):
        alerts = saturation_alerts([f], settings.thresholds)
        latency = "n/a" if f.borrow_latency_ms is None else f"{f.borrow_latency_ms:.0f} ms"
        rows.append(Row("proxy", f.proxy, "saturated" if alerts else "ok",
                        f"borrow wait {latency}", not alerts))  # fmt: skip
    return rows


def _slot(settings: Settings) -> list[Row]:
    from cdc_ops.cluster_control import utc_now
    from cdc_ops.replication_slot import observe_slot
    from cdc_ops.slot_health import slot_verdict

    slot = observe_slot(settings)
    verdict = slot_verdict(slot, utc_now(), None, True, settings.thresholds)
    figure = (
        f"lag {slot.lag_bytes} B, retained {slot.retained_bytes} B"
        if slot.state == "present"
        else (slot.error or "")
    )
    healthy = slot.state == "present" and not verdict.alerts
    return [Row("slot", slot.name, slot.state if healthy or slot.state != "present" else "alerting",
                figure, healthy)]  # fmt: skip


def _connector(settings: Settings) -> list[Row]:
    from cdc_ops.connector.backends import connector_backend

    s = connector_backend(settings).status()
    tasks = ", ".join(f"{t.id}:{t.state}" for t in s.tasks) or "no tasks"
    return [Row("connector", s.name, s.state, tasks, s.healthy)]


def _topics(settings: Settings) -> list[Row]:
    from cdc_ops.kafka_topics import TopicAdmin

    return [
        Row(
            "topic",
            t.name,
            "present" if t.exists else "missing",
            f"{t.partitions} partitions, end offsets {t.total_end_offset}",
            t.exists,
        )  # fmt: skip
        for t in TopicAdmin(settings, timeout_s=5).describe(settings.names.topics)
    ]


def _statements(settings: Settings) -> list[Row]:
    from cdc_ops.flink.deploy import compile_for, statement_backend

    backend = statement_backend(settings)
    rows = []
    for s in compile_for(settings).statements:
        state = backend.status(s.name)
        rows.append(Row("statement", s.name, state.phase, state.detail,
                        state.phase == "RUNNING"))  # fmt: skip
    return rows


def _consumers(settings: Settings) -> list[Row]:
    from cdc_ops.consumers.lag import group_lag

    rows = []
    limit = settings.consumers.lag_warn_messages
    for spec in settings.consumers.consumers:
        g = group_lag(settings, spec)
        healthy = g.topic_exists and g.total <= limit
        state = "missing topic" if not g.topic_exists else ("lagging" if g.total > limit else "ok")
        rows.append(Row("consumer group", g.group, state,
                        f"lag {g.total}, dead letters {g.dead_letters}", healthy))  # fmt: skip
    return rows


PARTS: list[tuple[str, Callable[[Settings], list[Row]]]] = [
    ("cluster", _cluster), ("proxy", _proxy), ("slot", _slot), ("connector", _connector),
    ("topic", _topics), ("statement", _statements), ("consumer group", _consumers),
]  # fmt: skip


def pipeline_status(settings: Settings) -> list[Row]:
    rows: list[Row] = []
    for part, read in PARTS:
        try:
            rows.extend(read(settings))
        except Exception as exc:  # noqa: BLE001 - an unreadable part is itself the finding
            rows.append(Row(part, "-", "error", f"{type(exc).__name__}: {exc}"[:300], False))
    return rows
