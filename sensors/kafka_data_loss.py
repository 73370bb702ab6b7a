"""Alert (critical) when the broker holds less than it did: end offsets going backwards, a topic
or partition gone, a consumer group's committed offsets gone. The affected topic gets an
observation saying what was lost (`data_loss`). Its `topic_exists` check is left to the pipeline
observation: a lost message is an event that pages, the topic itself exists and works again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from confluent_kafka import KafkaException
from dagster import AssetObservation

from assets.keys import topic_key
from assets.topics import topic_metadata
from cdc_ops.adapters import Adapters
from cdc_ops.kafka.data_loss import Offsets, loss_alerts, losses, remember
from cdc_ops.kafka.groups import group_lag
from cdc_ops.settings import Settings
from sensors.factory import Verdict, alert_sensor


def kafka_data_loss_verdict(adapters: Adapters, memory: dict[str, Any], now: datetime) -> Verdict:
    settings = adapters.settings
    admin = adapters.topic_admin(timeout_s=5)
    try:
        have = admin.existing()
        topics = admin.describe(settings.names.topics, have)
        groups = [group_lag(settings, spec, have) for spec in settings.consumers.consumers]
    except KafkaException as exc:
        return Verdict([], memory, [], f"the broker could not be read: {exc}", hold=True)
    seen, current = Offsets.from_dict(memory), Offsets.read(topics, groups)
    found = losses(seen, current)
    events: list[Any] = []
    by_topic = {t.name: t for t in topics}
    for topic in sorted({loss.topic for loss in found}):
        says = "; ".join(loss.summary for loss in found if loss.topic == topic)
        state = by_topic.get(topic)
        metadata = topic_metadata(state, settings, now) if state else {}
        events.append(
            AssetObservation(asset_key=topic_key(topic), metadata={**metadata, "data_loss": says})
        )
    summary = f"{len(found)} loss(es) on the broker" if found else "nothing lost on the broker"
    return Verdict(
        loss_alerts(found, settings.alerts.runbook_base_url),
        remember(seen, current).as_dict(),
        events,
        summary,
    )


def build_kafka_data_loss_sensor(settings: Settings):
    return alert_sensor(
        "kafka_data_loss",
        kafka_data_loss_verdict,
        settings.alerts.sensor_interval_s,
        "Critical when a topic's end offsets go backwards, a topic or partition disappears, or a "
        "consumer group's committed offsets vanish: the broker lost data.",
    )
