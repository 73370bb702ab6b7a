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


def _module(*candidates: str):
    """The first of these module paths that imports: the code moved (cdc_ops/ was flat before)."""
    import importlib

    tree = os.path.realpath(os.getcwd())  # the tree measured; the editable install's finder
    for name in candidates:  # would otherwise find a new module in this checkout for any tree
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if os.path.realpath(module.__file__ or "").startswith(tree + os.sep):
            return module
    raise ImportError(candidates[0])


def _install() -> None:
    # the entry points every version of the code location reads its components through
    cluster = _module("cdc_ops.tools.stack.adapters", "cdc_ops.cluster")
    proxy = _module("cdc_ops.tools.stack.adapters", "cdc_ops.proxy_saturation")
    slot = _module("cdc_ops.slot.reading", "cdc_ops.replication_slot")
    embedded = _module("cdc_ops.tools.stack.embedded_connector", "cdc_ops.connector.embedded")
    topics = _module("cdc_ops.kafka.topics", "cdc_ops.kafka_topics")
    flink = _module("cdc_ops.tools.stack.flink_statements", "cdc_ops.flink.local")
    lag = _module("cdc_ops.kafka.groups", "cdc_ops.consumers.lag")

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
