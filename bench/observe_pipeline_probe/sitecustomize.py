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
    if getattr(original, "bench_counted", False):
        return  # the same object under another module's name: counted once

    def counted(*args, **kwargs):
        _count(part, per(*args, **kwargs) if per else 1)
        return original(*args, **kwargs)

    counted.bench_counted = True
    setattr(owner, name, counted)


def _tree_module(name: str):
    """The module, if the tree measured has it (the code moved: cdc_ops/ was flat before)."""
    import importlib

    tree = os.path.realpath(os.getcwd())  # the tree measured; the editable install's finder
    try:  # would otherwise find a new module in this checkout for any tree
        module = importlib.import_module(name)
    except ImportError:
        return None
    if os.path.realpath(module.__file__ or "").startswith(tree + os.sep):
        return module
    return None


def _wrap_each(part: str, *candidates: tuple[str, str | None, str], per=None) -> None:
    """Count `part` at every (module, class or None for the module, function) of the candidates
    the tree has: the entry points of the backends each version of the code location used."""
    found = 0
    for module_name, owner_name, name in candidates:
        module = _tree_module(module_name)
        owner = getattr(module, owner_name, None) if owner_name else module
        if owner is not None and hasattr(owner, name):
            _wrap(owner, name, part, per)
            found += 1
    if not found:
        raise ImportError(f"{part}: none of {[c[0] for c in candidates]} in this tree")


def _install() -> None:
    # the entry points every version of the code location reads its components through
    _wrap_each(
        "cluster",
        ("cdc_ops.tools.stack.adapters", "LocalClusterObserver", "observe"),
        ("cdc_ops.cluster", "LocalClusterObserver", "observe"),
    )
    _wrap_each(
        "proxy",
        ("cdc_ops.tools.stack.adapters", "PgBouncerProxyReader", "read"),
        ("cdc_ops.proxy_saturation", "PgBouncerProxyReader", "read"),
    )
    _wrap_each(
        "slot",
        ("cdc_ops.slot.reading", None, "read_slot"),
        ("cdc_ops.replication_slot", None, "read_slot"),
    )
    # now Kafka Connect's REST API; before, the stack's embedded Debezium engine
    _wrap_each(
        "connector",
        ("cdc_ops.connector.backends", "KafkaConnectBackend", "status"),
        ("cdc_ops.tools.stack.embedded_connector", "EmbeddedBackend", "status"),
        ("cdc_ops.connector.embedded", "EmbeddedBackend", "status"),
    )
    _wrap_each(
        "topic",
        ("cdc_ops.kafka.topics", "TopicAdmin", "describe"),
        ("cdc_ops.kafka_topics", "TopicAdmin", "describe"),
        per=lambda self, names: len(names),
    )
    # now the SQL Gateway (and the JobManager's REST API); before, a PyFlink job per statement
    _wrap_each(
        "statement",
        ("cdc_ops.flink.sql_gateway", "SqlGatewayStatements", "status"),
        ("cdc_ops.tools.stack.flink_statements", "LocalFlinkStatements", "status"),
        ("cdc_ops.flink.local", "LocalFlinkStatements", "status"),
    )
    _wrap_each(
        "consumer group",
        ("cdc_ops.kafka.groups", None, "group_lag"),
        ("cdc_ops.consumers.lag", None, "group_lag"),
    )


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
