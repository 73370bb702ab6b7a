"""Data loss on the broker, noticed: a partition's end offset lower than one seen before (its log
was wiped, the topic deleted and created again), a partition or a topic gone, or a consumer
group's committed offset gone.

A durable broker never does this on its own, so each is a critical alert. The decision is pure:
the offsets read now against the highest seen before (the sensor keeps them in its cursor). A
finding stands until the partition is back past what was seen, or the group commits again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cdc_ops.alerts.delivery import Alert, Severity
from cdc_ops.kafka.groups import GroupLag
from cdc_ops.kafka.topics import TopicState

SOURCE = "kafka_data_loss"


@dataclass
class Offsets:
    """End offsets per topic and partition; committed offsets per group, topic and partition.
    Keys are strings, so that the same shape goes to and comes back from JSON."""

    ends: dict[str, dict[str, int]] = field(default_factory=dict)
    committed: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)

    @classmethod
    def read(cls, topics: list[TopicState], groups: list[GroupLag]) -> Offsets:
        ends = {
            t.name: {str(p): end for p, end in t.end_offsets.items()} for t in topics if t.exists
        }
        committed: dict[str, dict[str, dict[str, int]]] = {}
        for g in groups:
            if not g.topic_exists:
                continue
            parts = {str(p.partition): p.committed for p in g.partitions if p.committed is not None}
            committed.setdefault(g.group, {})[g.topic] = parts
        return cls(ends, committed)

    def as_dict(self) -> dict[str, Any]:
        return {"ends": self.ends, "committed": self.committed}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Offsets:
        data = data or {}
        return cls(data.get("ends") or {}, data.get("committed") or {})


@dataclass(frozen=True)
class Loss:
    key: str
    topic: str
    summary: str
    values: dict[str, Any]


def losses(seen: Offsets, now: Offsets) -> list[Loss]:
    """What was there before and is not now."""
    found: list[Loss] = []
    for topic, partitions in sorted(seen.ends.items()):
        if topic not in now.ends:
            total = sum(partitions.values())
            if total:
                found.append(
                    Loss(
                        f"topic/{topic}",
                        topic,
                        f"topic {topic} is gone; it held end offsets totalling {total}",
                        {"seen_end_offset_total": total},
                    )
                )
            continue
        for partition, was in sorted(partitions.items(), key=lambda kv: int(kv[0])):
            is_now = now.ends[topic].get(partition)
            if is_now is None or is_now < was:
                shown = "gone" if is_now is None else str(is_now)
                found.append(
                    Loss(
                        f"topic/{topic}/{partition}",
                        topic,
                        f"{topic} partition {partition}: end offset {shown}, below the {was}"
                        " seen before: its messages were lost",
                        {"seen_end_offset": was, "end_offset": is_now},
                    )
                )
    for group, topics in sorted(seen.committed.items()):
        for topic, partitions in sorted(topics.items()):
            have = now.committed.get(group, {}).get(topic, {})
            gone = sorted((p for p in partitions if p not in have), key=int)
            if gone and topic in now.ends:
                found.append(
                    Loss(
                        f"group/{group}/{topic}",
                        topic,
                        f"group {group} lost its committed offsets on {topic}"
                        f" (partition(s) {', '.join(gone)}): its consumers start over",
                        {"partitions": [int(p) for p in gone]},
                    )
                )
    return found


def remember(seen: Offsets, now: Offsets) -> Offsets:
    """What to compare the next reading with: the highest end offset seen per partition (so a
    loss stands until the partition is back past it), and the last committed offsets of each
    group, kept while they are gone."""
    ends: dict[str, dict[str, int]] = {}
    for topic in set(seen.ends) | set(now.ends):
        before, after = seen.ends.get(topic, {}), now.ends.get(topic, {})
        ends[topic] = {p: max(before.get(p, 0), after.get(p, 0)) for p in set(before) | set(after)}
    committed: dict[str, dict[str, dict[str, int]]] = {}
    for group in set(seen.committed) | set(now.committed):
        topics = set(seen.committed.get(group, {})) | set(now.committed.get(group, {}))
        for topic in topics:
            before = seen.committed.get(group, {}).get(topic, {})
            after = now.committed.get(group, {}).get(topic, {})
            committed.setdefault(group, {})[topic] = before | after
    return Offsets(ends, committed)


def loss_alerts(found: list[Loss], runbook: str = "") -> list[Alert]:
    link = f"{runbook}#kafka-data-loss" if runbook else ""
    return [
        Alert(
            SOURCE,
            loss.key,
            Severity.CRITICAL,
            loss.summary,
            "The broker holds fewer messages or offsets than it did: a wiped log directory, a"
            " topic deleted and created again, or an expired group. Consumers and Flink may have"
            " missed events; replay them from the database (see the runbook).",
            loss.values,
            link,
        )
        for loss in found
    ]
