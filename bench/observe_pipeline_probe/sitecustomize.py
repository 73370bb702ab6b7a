"""Loaded by every Python process of a benchmarked run (PYTHONPATH): counts each read of a
pipeline component, and at exit appends this process's counts to $BENCH_COMPONENT_READS."""

import atexit
import json
import os

counts: dict[str, int] = {}


def _count(part: str, n: int = 1) -> None:
    counts[part] = counts.get(part, 0) + n


def _wrap(owner, name: str, part: str, per=None) -> None:
    original = getattr(owner, name)

    def counted(*args, **kwargs):
        _count(part, per(*args, **kwargs) if per else 1)
        return original(*args, **kwargs)

    setattr(owner, name, counted)


def _install() -> None:
    # the entry points every version of the code location reads its components through
    import cdc_ops.cluster.state as cluster
    import cdc_ops.kafka.groups as lag
    import cdc_ops.kafka.topics as topics
    import cdc_ops.proxy.saturation as proxy
    import cdc_ops.slot.reading as slot
    import cdc_ops.tools.stack.embedded_connector as embedded
    import cdc_ops.tools.stack.flink_statements as flink

    _wrap(cluster.LocalClusterObserver, "observe", "cluster")
    _wrap(proxy.PgBouncerProxyReader, "read", "proxy")
    _wrap(slot, "read_slot", "slot")
    _wrap(embedded.EmbeddedBackend, "status", "connector")
    _wrap(topics.TopicAdmin, "describe", "topic", per=lambda self, names: len(names))
    _wrap(flink.LocalFlinkStatements, "status", "statement")
    _wrap(lag, "group_lag", "consumer group")


def _write() -> None:
    path = os.environ.get("BENCH_COMPONENT_READS")
    if path and counts:
        with open(path, "a") as out:
            out.write(json.dumps({"pid": os.getpid(), "counts": counts}) + "\n")


if os.environ.get("BENCH_COMPONENT_READS"):
    try:
        _install()
        atexit.register(_write)
    except Exception as exc:  # noqa: BLE001 - a process without cdc_ops is not measured
        print(f"bench probe not installed: {exc}")
