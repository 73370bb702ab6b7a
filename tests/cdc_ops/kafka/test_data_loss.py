"""The data-loss decision, on plain offsets: nothing is read from a broker here."""

from __future__ import annotations

from cdc_ops.alerts.delivery import Severity
from cdc_ops.kafka.data_loss import Offsets, loss_alerts, losses, remember
from cdc_ops.kafka.groups import GroupLag, PartitionLag
from cdc_ops.kafka.topics import TopicState


def _offsets(ends: dict[str, dict[int, int]], committed=None) -> Offsets:
    topics = [TopicState(t, True, len(p), p) for t, p in ends.items()]
    groups = [
        GroupLag(g, g, t, [PartitionLag(p, c, 0, 0) for p, c in parts.items()])
        for g, (t, parts) in (committed or {}).items()
    ]
    return Offsets.read(topics, groups)


def test_growing_offsets_are_no_loss() -> None:
    before = _offsets({"raw": {0: 5, 1: 3}}, {"g": ("raw", {0: 5, 1: None})})
    after = _offsets({"raw": {0: 9, 1: 3}}, {"g": ("raw", {0: 9, 1: 2})})
    assert losses(before, after) == []
    assert remember(before, after).ends == {"raw": {"0": 9, "1": 3}}


def test_an_end_offset_going_backwards_is_a_critical_loss_until_it_is_back_past_it() -> None:
    seen = _offsets({"raw": {0: 804, 1: 10}})
    wiped = _offsets({"raw": {0: 0, 1: 10}})
    (loss,) = losses(seen, wiped)
    assert loss.key == "topic/raw/0"
    assert "end offset 0, below the 804 seen before" in loss.summary
    (alert,) = loss_alerts([loss], "docs/runbook.md")
    assert alert.severity is Severity.CRITICAL and alert.runbook.endswith("#kafka-data-loss")
    memory = remember(seen, wiped)
    # the next tick still sees it: the memory keeps the highest offset seen
    assert [x.key for x in losses(memory, _offsets({"raw": {0: 500, 1: 10}}))] == ["topic/raw/0"]
    assert losses(memory, _offsets({"raw": {0: 805, 1: 10}})) == []


def test_a_topic_or_partition_that_is_gone_is_a_loss_an_empty_one_is_not() -> None:
    seen = _offsets({"raw": {0: 4, 1: 0}, "empty": {0: 0}})
    now = _offsets({"raw": {0: 4}})
    assert [x.key for x in losses(seen, now)] == ["topic/raw/1"]
    gone = _offsets({})
    assert [x.key for x in losses(seen, gone)] == ["topic/raw"]


def test_committed_offsets_that_vanish_are_a_loss_until_the_group_commits_again() -> None:
    seen = _offsets({"t": {0: 9, 1: 9}}, {"g": ("t", {0: 9, 1: 7})})
    vanished = _offsets({"t": {0: 9, 1: 9}}, {"g": ("t", {0: None, 1: None})})
    (loss,) = losses(seen, vanished)
    assert loss.key == "group/g/t" and "partition(s) 0, 1" in loss.summary
    memory = remember(seen, vanished)
    assert [x.key for x in losses(memory, vanished)] == ["group/g/t"]
    again = _offsets({"t": {0: 9, 1: 9}}, {"g": ("t", {0: 1, 1: 1})})
    assert losses(memory, again) == []


def test_the_memory_survives_json() -> None:
    seen = _offsets({"raw": {0: 4}}, {"g": ("raw", {0: 4})})
    assert Offsets.from_dict(seen.as_dict()) == seen
    assert Offsets.from_dict(None) == Offsets()
